//! Where the `decode` commands get their bytes and how they end: HEX arguments, hex text on
//! standard input line by line, or raw bytes on standard input; output flushed line by line,
//! and a reader that went away (`… | head`) is not an error.
//!
//! Each protocol decides what a unit of input is (an MQTT stream joins everything, a CoAP
//! datagram is one argument or one line); the parsing, reading and error texts are shared, so
//! every command says the same thing about the same mistake.

use std::io::{self, BufRead, IsTerminal, Write};

use crate::failure::Failure;
use crate::hex;

/// Why a command that writes lines stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The input was bad or could not be read.
    Failed(Failure),
    /// Writing the output failed.
    Output(io::Error),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Failed(f)
    }
}

/// Advice when standard input is not hex text: most likely it is raw bytes.
pub(crate) const RAW_HINT: &str = "without HEX arguments, standard input is read as hex text; \
                                   give --raw to read raw bytes";

/// Runs `body` on the process's standard input and a buffered standard output. `command` (e.g.
/// "tern mqtt decode") names the command in the note printed when it waits for hex typed at a
/// terminal (`hex_from_stdin`). What was written before a failure is flushed before it.
pub(crate) fn run(
    command: &str,
    hex_from_stdin: bool,
    body: impl FnOnce(&mut dyn BufRead, &mut dyn Write) -> Result<(), Stop>,
) -> Result<(), Failure> {
    let stdin = io::stdin();
    if hex_from_stdin && stdin.is_terminal() {
        eprintln!("{command}: reading hex from the terminal; end with Ctrl-D");
    }
    let mut stdin = stdin.lock();
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    let result = body(&mut stdin, &mut stdout);
    let flushed = stdout.flush();
    match result.and(flushed.map_err(Stop::Output)) {
        Ok(()) => Ok(()),
        Err(Stop::Failed(failure)) => Err(failure),
        // The reader went away (`… | head`): nobody is left to tell.
        Err(Stop::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(Stop::Output(e)) => Err(Failure::io("writing to standard output", &e)),
    }
}

/// Parses every HEX argument before anything is decoded, so that a typo anywhere on the
/// command line prints nothing but the usage error (exit status 2).
pub(crate) fn hex_args(args: &[String]) -> Result<Vec<Vec<u8>>, Failure> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| {
            let mut bytes = Vec::new();
            hex::decode_into(arg, &mut bytes)
                .map_err(|e| Failure::usage(format_args!("HEX argument {}: {e}", i + 1)))?;
            Ok(bytes)
        })
        .collect()
}

/// Reads hex text from `reader` line by line and hands each line's bytes (possibly none, for
/// a blank line) to `each` with the line's number, counted from 1.
pub(crate) fn hex_lines(
    reader: &mut dyn BufRead,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let mut line = String::new();
    let mut bytes = Vec::new();
    for number in 1.. {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                Failure::usage(format_args!("standard input, line {number}: not text"))
                    .with_hint(RAW_HINT)
            } else {
                Failure::io("reading hex from standard input", &e)
            }
        })?;
        if n == 0 {
            break;
        }
        bytes.clear();
        hex::decode_into(&line, &mut bytes).map_err(|e| {
            Failure::usage(format_args!("standard input, line {number}: {e}")).with_hint(RAW_HINT)
        })?;
        each(number, &bytes)?;
    }
    Ok(())
}

/// Reads raw bytes from `reader` and hands them to `each` as they arrive, so that a live
/// `nc … | tern … decode --raw` shows messages without waiting for the end.
pub(crate) fn raw_chunks(
    reader: &mut dyn BufRead,
    mut each: impl FnMut(&[u8]) -> Result<(), Stop>,
) -> Result<(), Stop> {
    loop {
        let chunk = reader
            .fill_buf()
            .map_err(|e| Failure::io("reading standard input", &e))?;
        if chunk.is_empty() {
            return Ok(());
        }
        let n = chunk.len();
        each(chunk)?;
        reader.consume(n);
    }
}

/// Reads all of `reader` as raw bytes.
pub(crate) fn raw_all(reader: &mut dyn BufRead) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::io("reading standard input", &e))?;
    Ok(bytes)
}

/// Writes one JSON line.
pub(crate) fn write_line(out: &mut dyn Write, line: impl std::fmt::Display) -> Result<(), Stop> {
    writeln!(out, "{line}").map_err(Stop::Output)
}

/// Flushes what was written, so that lines show as soon as their input was read.
pub(crate) fn flush(out: &mut dyn Write) -> Result<(), Stop> {
    out.flush().map_err(Stop::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_args_are_parsed_one_by_one() {
        let args = ["40 00".to_owned(), "0x6000".to_owned()];
        assert_eq!(hex_args(&args).unwrap(), [[0x40, 0x00], [0x60, 0x00]]);
        let bad = hex_args(&["4000".to_owned(), "zz".to_owned()]).unwrap_err();
        assert_eq!(bad.status(), 2);
        assert!(bad.message().starts_with("HEX argument 2: 'z'"), "{bad:?}");
    }

    #[test]
    fn hex_lines_are_numbered_and_blank_lines_are_empty() {
        let mut seen = Vec::new();
        let mut input: &[u8] = b"40 00\n\n6000";
        hex_lines(&mut input, |n, bytes| {
            seen.push((n, bytes.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [(1, vec![0x40, 0x00]), (2, vec![]), (3, vec![0x60, 0x00])]
        );
    }

    #[test]
    fn raw_bytes_without_raw_are_a_usage_error_with_a_hint() {
        let mut input: &[u8] = &[0x40, 0xff];
        let Err(Stop::Failed(f)) = hex_lines(&mut input, |_, _| Ok(())) else {
            panic!("not text is an error");
        };
        assert_eq!(f.status(), 2);
        assert_eq!(f.message(), "standard input, line 1: not text");
        assert_eq!(f.hints(), [RAW_HINT]);
    }
}

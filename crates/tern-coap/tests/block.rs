//! The block-wise components of the endpoint (RFC 7959), one test per rule; the
//! TD_COAP_BLOCK_* names refer to the ETSI CoAP#4 test descriptions (cabo/td-coap4 block.yml).

use core::time::Duration;

use bytes::Bytes;
use tern_coap::endpoint::Instant;
use tern_coap::endpoint::block::{
    Block1Config, Block1Error, Block1Outcome, Block1Progress, Block1Receiver, Block1Reject,
    Block1Request, Block1Sender, Block2Error, Block2Progress, Block2Reassembly, Block2ServeError,
    RequestKey, serve_block2, szx_for_size,
};
use tern_coap::message::Code;
use tern_coap::option::Options;
use tern_coap::value::{Block, ETag, RequestTag};

fn block(num: u32, more: bool, szx: u8) -> Block {
    Block::new(num, more, szx).unwrap()
}

/// A representation whose every byte tells its offset, so misplaced blocks show.
fn body(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn etag(tag: &[u8]) -> Option<ETag> {
    ETag::new(tag)
}

// ---------------------------------------------------------------------------------------------
// Client Block2 reassembly
// ---------------------------------------------------------------------------------------------

/// Drives a reassembly against `serve_block2` with the server's `max_szx`; returns the body
/// and the Block2 options the client requested.
fn fetch(
    repr: &Bytes,
    mut client: Block2Reassembly,
    max_szx: u8,
) -> Result<(Bytes, Vec<Block>), Block2Error> {
    let tag = etag(b"t");
    let mut request = client.first_request_block();
    let mut asked = Vec::new();
    loop {
        if let Some(b) = request {
            asked.push(b);
        }
        let slice = serve_block2(repr, tag, request, false, max_szx).unwrap();
        match client.handle_response(slice.block, slice.etag, slice.size2, &slice.payload)? {
            Block2Progress::NeedMore(next) => request = Some(next),
            Block2Progress::Complete(body) => return Ok((body, asked)),
        }
    }
}

#[test]
fn td_coap_block_01_early_negotiation_keeps_the_servers_size() {
    // The client proposes 1,024 bytes; the server uses 256 (smaller is allowed, RFC 7959 §2.4).
    let repr = body(1000);
    let (got, asked) = fetch(&repr, Block2Reassembly::with_szx(4096, 6), 4).unwrap();
    assert_eq!(got, repr);
    assert_eq!(
        asked,
        [
            block(0, false, 6),
            block(1, false, 4),
            block(2, false, 4),
            block(3, false, 4)
        ]
    );
}

#[test]
fn td_coap_block_02_late_negotiation_server_picks_the_size() {
    let repr = body(300);
    let mut client = Block2Reassembly::new(4096);
    assert_eq!(client.first_request_block(), None);
    let (got, asked) = fetch(&repr, client.clone(), 3).unwrap();
    assert_eq!(got, repr);
    assert_eq!(asked, [block(1, false, 3), block(2, false, 3)]);
    // Without a Block2 in the first request, the first response is block 0 with Size2.
    let first = serve_block2(&repr, None, None, false, 3).unwrap();
    assert_eq!(
        (first.block, first.size2),
        (Some(block(0, true, 3)), Some(300))
    );
    assert!(matches!(
        client.handle_response(first.block, None, first.size2, &first.payload),
        Ok(Block2Progress::NeedMore(_))
    ));
}

#[test]
fn td_coap_block_02_client_may_continue_with_smaller_blocks() {
    // Late negotiation; the server's block 0 has 256 bytes (DES_SZX 4), the client allows 64
    // (ACT_SZX 2): the next request is NUM = 2^(DES_SZX - ACT_SZX) = 4, SZX 2.
    let repr = body(600);
    let mut client = Block2Reassembly::with_max_szx(4096, 2);
    assert_eq!(client.first_request_block(), None);
    let first = serve_block2(&repr, None, None, false, 4).unwrap();
    assert_eq!(first.block, Some(block(0, true, 4)));
    let mut next = match client.handle_response(first.block, None, first.size2, &first.payload) {
        Ok(Block2Progress::NeedMore(next)) => next,
        other => panic!("{other:?}"),
    };
    assert_eq!(next, block(4, false, 2));
    loop {
        let s = serve_block2(&repr, None, Some(next), false, 4).unwrap();
        assert_eq!(s.block.unwrap().szx(), 2);
        match client
            .handle_response(s.block, None, s.size2, &s.payload)
            .unwrap()
        {
            Block2Progress::NeedMore(b) => next = b,
            Block2Progress::Complete(got) => break assert_eq!(got, repr),
        }
    }
}

#[test]
fn rfc7959_2_4_early_proposal_is_a_ceiling_for_block_zero() {
    // A client that proposed 64 bytes refuses a 256-byte block 0.
    let repr = body(600);
    let first = serve_block2(&repr, None, None, false, 4).unwrap();
    let mut capped = Block2Reassembly::with_szx(4096, 2);
    assert_eq!(
        capped.handle_response(first.block, None, None, &first.payload),
        Err(Block2Error::SizeIncreased {
            requested: 2,
            received: 4
        })
    );
}

#[test]
fn td_coap_block_06_sixteen_byte_blocks() {
    let repr = body(100);
    let (got, asked) = fetch(&repr, Block2Reassembly::with_szx(4096, 0), 6).unwrap();
    assert_eq!(got, repr);
    assert_eq!(asked.len(), 7); // 100 bytes in 16-byte blocks: 0..=6
    assert!(
        asked
            .iter()
            .enumerate()
            .all(|(i, b)| b.num() == i as u32 && b.szx() == 0)
    );
}

#[test]
fn rfc7959_2_2_block2_requests_have_m_zero() {
    let repr = body(5000);
    let (_, asked) = fetch(&repr, Block2Reassembly::new(8192), 6).unwrap();
    assert!(asked.iter().all(|b| !b.more()));
}

#[test]
fn rfc7959_2_4_server_lowering_szx_is_followed() {
    // 1,024-byte block 0, then the server drops to 128 bytes: the next block is number 8
    // (offset 1,024), and the client keeps asking for 128-byte blocks.
    let repr = body(1400);
    let tag = etag(b"a");
    let mut client = Block2Reassembly::new(4096);
    let b0 = repr.slice(0..1024);
    assert_eq!(
        client.handle_response(Some(block(0, true, 6)), tag, None, &b0),
        Ok(Block2Progress::NeedMore(block(1, false, 6)))
    );
    // The server answers the request for 1/0/1024 with 8/1/128 (offset 1,024).
    let b8 = repr.slice(1024..1152);
    assert_eq!(
        client.handle_response(Some(block(8, true, 3)), tag, None, &b8),
        Ok(Block2Progress::NeedMore(block(9, false, 3)))
    );
    let b9 = repr.slice(1152..1280);
    assert_eq!(
        client.handle_response(Some(block(9, true, 3)), tag, None, &b9),
        Ok(Block2Progress::NeedMore(block(10, false, 3)))
    );
    let b10 = repr.slice(1280..1400);
    assert_eq!(
        client.handle_response(Some(block(10, false, 3)), tag, None, &b10),
        Ok(Block2Progress::Complete(repr))
    );
}

#[test]
fn rfc7959_2_4_server_lowering_szx_end_to_end() {
    // The client proposes 1,024 bytes; a server whose limit is 32 bytes answers every
    // request with 32-byte blocks at the requested offset.
    for len in [0, 1, 31, 32, 33, 1024, 1025, 3000] {
        let repr = body(len);
        let (got, _) = fetch(&repr, Block2Reassembly::with_szx(4096, 6), 1).unwrap();
        assert_eq!(got, repr, "length {len}");
    }
}

#[test]
fn rfc7959_2_4_server_must_not_raise_szx() {
    let mut client = Block2Reassembly::with_szx(4096, 2);
    let payload = body(128);
    assert_eq!(
        client.handle_response(Some(block(0, true, 3)), None, None, &payload),
        Err(Block2Error::SizeIncreased {
            requested: 2,
            received: 3
        })
    );
    // Mid-transfer too: after 64-byte blocks, a 128-byte one is refused.
    let b0 = body(64);
    assert!(
        client
            .handle_response(Some(block(0, true, 2)), None, None, &b0)
            .is_ok()
    );
    assert_eq!(
        client.handle_response(Some(block(1, true, 3)), None, None, &payload),
        Err(Block2Error::SizeIncreased {
            requested: 2,
            received: 3
        })
    );
}

#[test]
fn rfc7959_2_4_etag_change_mid_transfer_is_reported() {
    let mut client = Block2Reassembly::new(4096);
    let b = body(16);
    client
        .handle_response(Some(block(0, true, 0)), etag(b"v1"), None, &b)
        .unwrap();
    assert_eq!(
        client.handle_response(Some(block(1, true, 0)), etag(b"v2"), None, &b),
        Err(Block2Error::EtagChanged)
    );
    // An ETag that disappears (or appears) is a change as well.
    assert_eq!(
        client.handle_response(Some(block(1, true, 0)), None, None, &b),
        Err(Block2Error::EtagChanged)
    );
    // Nothing changed: the right block still continues the transfer.
    assert_eq!(
        client.handle_response(Some(block(1, false, 0)), etag(b"v1"), None, &b),
        Ok(Block2Progress::Complete(Bytes::from(
            [b.clone(), b].concat()
        )))
    );
}

#[test]
fn rfc7959_2_4_a_restart_after_an_etag_change_fetches_the_new_version() {
    let old = body(40);
    let new: Bytes = vec![9u8; 40].into();
    let mut client = Block2Reassembly::with_szx(4096, 0);
    let s0 = serve_block2(&old, etag(b"1"), client.first_request_block(), false, 6).unwrap();
    let Ok(Block2Progress::NeedMore(next)) =
        client.handle_response(s0.block, s0.etag, s0.size2, &s0.payload)
    else {
        panic!()
    };
    let s1 = serve_block2(&new, etag(b"2"), Some(next), false, 6).unwrap();
    assert_eq!(
        client.handle_response(s1.block, s1.etag, s1.size2, &s1.payload),
        Err(Block2Error::EtagChanged)
    );
    let (got, _) = fetch(&new, Block2Reassembly::with_szx(4096, 0), 6).unwrap();
    assert_eq!(got, new);
}

#[test]
fn rfc7959_2_2_out_of_order_block_is_rejected_and_the_transfer_survives() {
    let repr = body(64);
    let mut client = Block2Reassembly::new(4096);
    client
        .handle_response(Some(block(0, true, 0)), None, None, &repr.slice(0..16))
        .unwrap();
    // Block 2 before block 1.
    assert_eq!(
        client.handle_response(Some(block(2, true, 0)), None, None, &repr.slice(32..48)),
        Err(Block2Error::UnexpectedBlock {
            expected_offset: 16,
            offset: 32
        })
    );
    // A late duplicate of block 0.
    assert_eq!(
        client.handle_response(Some(block(0, true, 0)), None, None, &repr.slice(0..16)),
        Err(Block2Error::UnexpectedBlock {
            expected_offset: 16,
            offset: 0
        })
    );
    assert_eq!(client.received(), 16);
    assert_eq!(
        client.handle_response(Some(block(1, true, 0)), None, None, &repr.slice(16..32)),
        Ok(Block2Progress::NeedMore(block(2, false, 0)))
    );
}

#[test]
fn rfc7959_2_2_final_block_at_wrong_offset_is_rejected() {
    let mut client = Block2Reassembly::new(4096);
    let b = body(16);
    client
        .handle_response(Some(block(0, true, 0)), None, None, &b)
        .unwrap();
    assert_eq!(
        client.handle_response(Some(block(3, false, 0)), None, None, &b),
        Err(Block2Error::UnexpectedBlock {
            expected_offset: 16,
            offset: 48
        })
    );
    assert!(!client.is_finished());
}

#[test]
fn rfc7959_2_2_first_block_must_be_block_zero() {
    let mut client = Block2Reassembly::new(4096);
    assert_eq!(
        client.handle_response(Some(block(1, true, 0)), None, None, &body(16)),
        Err(Block2Error::UnexpectedBlock {
            expected_offset: 0,
            offset: 16
        })
    );
}

#[test]
fn rfc7959_2_2_non_final_block_must_be_full() {
    let mut client = Block2Reassembly::new(4096);
    assert_eq!(
        client.handle_response(Some(block(0, true, 1)), None, None, &body(20)),
        Err(Block2Error::WrongBlockLength { szx: 1, len: 20 })
    );
    // A last block may be short but not longer than the block size.
    assert_eq!(
        client.handle_response(Some(block(0, false, 1)), None, None, &body(33)),
        Err(Block2Error::WrongBlockLength { szx: 1, len: 33 })
    );
    assert_eq!(
        client.handle_response(Some(block(0, false, 1)), None, None, &body(20)),
        Ok(Block2Progress::Complete(body(20)))
    );
}

#[test]
fn rfc7959_4_size2_over_the_limit_is_refused_up_front() {
    let mut client = Block2Reassembly::new(1000);
    assert_eq!(
        client.handle_response(Some(block(0, true, 4)), None, Some(1001), &body(256)),
        Err(Block2Error::TooLarge {
            size: 1001,
            limit: 1000
        })
    );
    assert_eq!(client.received(), 0);
    // At the limit it goes on.
    assert!(
        client
            .handle_response(Some(block(0, true, 4)), None, Some(1000), &body(256))
            .is_ok()
    );
}

#[test]
fn body_over_the_limit_is_refused_before_it_is_stored() {
    // No Size2: the limit is checked against the bytes received.
    let mut client = Block2Reassembly::new(40);
    client
        .handle_response(Some(block(0, true, 0)), None, None, &body(16))
        .unwrap();
    client
        .handle_response(Some(block(1, true, 0)), None, None, &body(16))
        .unwrap();
    assert_eq!(
        client.handle_response(Some(block(2, true, 0)), None, None, &body(16)),
        Err(Block2Error::TooLarge {
            size: 48,
            limit: 40
        })
    );
    assert_eq!(client.received(), 32);
    // A whole (non-block) response over the limit too.
    assert_eq!(
        Block2Reassembly::new(40).handle_response(None, None, None, &body(41)),
        Err(Block2Error::TooLarge {
            size: 41,
            limit: 40
        })
    );
}

#[test]
fn rfc7959_2_4_response_without_block2_is_the_whole_body() {
    let mut client = Block2Reassembly::new(4096);
    assert_eq!(
        client.handle_response(None, None, None, &body(10)),
        Ok(Block2Progress::Complete(body(10)))
    );
    assert!(client.is_finished());
    assert_eq!(
        client.handle_response(None, None, None, &body(10)),
        Err(Block2Error::Finished)
    );
}

#[test]
fn rfc7959_2_4_response_without_block2_mid_transfer_is_refused() {
    let mut client = Block2Reassembly::new(4096);
    client
        .handle_response(Some(block(0, true, 0)), None, None, &body(16))
        .unwrap();
    assert_eq!(
        client.handle_response(None, None, None, &body(16)),
        Err(Block2Error::MissingBlock2)
    );
}

#[test]
fn rfc7959_2_4_completed_transfer_refuses_more() {
    let mut client = Block2Reassembly::new(4096);
    client
        .handle_response(Some(block(0, false, 0)), None, None, &body(3))
        .unwrap();
    assert_eq!(
        client.handle_response(Some(block(1, false, 0)), None, None, &body(3)),
        Err(Block2Error::Finished)
    );
}

#[test]
fn rfc8323_6_bert_blocks_carry_multiples_of_1024() {
    let repr = body(3000);
    let mut client = Block2Reassembly::new(8192);
    // One BERT message with blocks 0 and 1, then the rest.
    assert_eq!(
        client.handle_response(Some(block(0, true, 7)), None, None, &repr.slice(0..2048)),
        Ok(Block2Progress::NeedMore(block(2, false, 7)))
    );
    assert_eq!(
        client.handle_response(Some(block(2, false, 7)), None, None, &repr.slice(2048..)),
        Ok(Block2Progress::Complete(repr.clone()))
    );
    // A BERT block with M set that is not a multiple of 1,024 is refused.
    assert_eq!(
        Block2Reassembly::new(8192).handle_response(
            Some(block(0, true, 7)),
            None,
            None,
            &repr.slice(0..1500)
        ),
        Err(Block2Error::WrongBlockLength { szx: 7, len: 1500 })
    );
}

#[test]
fn rfc7959_3_4_notification_then_block2_follow_ups() {
    // TD_COAP_OBS_13: the notification carries block 0 (with Observe, ETag); the client
    // fetches the rest with plain GETs and checks the ETag.
    let repr = body(100);
    let tag = etag(b"n1");
    let mut client = Block2Reassembly::new(4096);
    let notification = serve_block2(&repr, tag, None, false, 5).unwrap(); // 512: whole
    assert_eq!(notification.block, None);
    let notification = serve_block2(&repr, tag, None, false, 2).unwrap(); // 64: block 0
    let Ok(Block2Progress::NeedMore(next)) = client.handle_response(
        notification.block,
        notification.etag,
        notification.size2,
        &notification.payload,
    ) else {
        panic!()
    };
    let rest = serve_block2(&repr, tag, Some(next), false, 2).unwrap();
    assert_eq!(
        client.handle_response(rest.block, rest.etag, rest.size2, &rest.payload),
        Ok(Block2Progress::Complete(repr))
    );
}

// ---------------------------------------------------------------------------------------------
// Client Block1 fragmentation
// ---------------------------------------------------------------------------------------------

fn sent(sender: &Block1Sender) -> Block1Request {
    sender.current().unwrap()
}

#[test]
fn td_coap_block_03_blocks_in_order_with_size1_on_the_first() {
    let repr = body(100);
    let mut sender = Block1Sender::new(repr.clone(), 5).unwrap(); // 512: one block
    assert_eq!(sent(&sender).block, block(0, false, 5));
    let mut sender2 = Block1Sender::new(repr.clone(), 1).unwrap(); // 32-byte blocks
    let mut got = Vec::new();
    let mut nums = Vec::new();
    loop {
        let r = sent(&sender2);
        assert_eq!(r.size1, (r.block.num() == 0).then_some(100));
        got.extend_from_slice(&r.payload);
        nums.push((r.block.num(), r.block.more()));
        let code = if r.block.more() {
            Code::CONTINUE
        } else {
            Code::CHANGED
        };
        let ack = Block::new(r.block.num(), r.block.more(), 1);
        match sender2.handle_response(code, ack, None).unwrap() {
            Block1Progress::Send(next) => assert_eq!(next, sent(&sender2)),
            Block1Progress::Done => break,
        }
    }
    assert_eq!(got, repr);
    assert_eq!(nums, [(0, true), (1, true), (2, true), (3, false)]);
    assert!(sender2.is_finished() && sender2.current().is_none());
    assert_eq!(
        sender.handle_response(Code::CHANGED, Some(block(0, false, 5)), None),
        Ok(Block1Progress::Done)
    );
}

#[test]
fn td_coap_block_04_server_lowering_szx_in_continue_is_followed() {
    // 1,024-byte block 0, then 2.31 with SZX 4 (256): the next block is number
    // 2^(6-4) = 4, of 256 bytes.
    let repr = body(2000);
    let mut sender = Block1Sender::new(repr.clone(), 6).unwrap();
    assert_eq!(sent(&sender).payload.len(), 1024);
    let Ok(Block1Progress::Send(next)) =
        sender.handle_response(Code::CONTINUE, Some(block(0, true, 4)), None)
    else {
        panic!()
    };
    assert_eq!(next.block, block(4, true, 4));
    assert_eq!(next.payload, repr.slice(1024..1280));
    assert_eq!(next.size1, None);
    assert_eq!(sender.szx(), 4);
}

#[test]
fn td_coap_block_03_stateless_server_answers_each_block_with_2_04() {
    // "2.04 (Changed) ... M = 0 (stateless)": the client goes on with the next block.
    let repr = body(40);
    let mut sender = Block1Sender::new(repr, 0).unwrap();
    assert!(matches!(
        sender.handle_response(Code::CHANGED, Some(block(0, false, 0)), None),
        Ok(Block1Progress::Send(r)) if r.block == block(1, true, 0)
    ));
}

#[test]
fn rfc7959_2_3_a_larger_szx_in_the_response_is_not_followed() {
    let mut sender = Block1Sender::new(body(100), 1).unwrap();
    assert!(matches!(
        sender.handle_response(Code::CONTINUE, Some(block(0, true, 6)), None),
        Ok(Block1Progress::Send(r)) if r.block == block(1, true, 1)
    ));
}

#[test]
fn rfc7959_2_3_echoed_block_number_must_match() {
    let mut sender = Block1Sender::new(body(100), 0).unwrap();
    assert_eq!(
        sender.handle_response(Code::CONTINUE, Some(block(3, true, 0)), None),
        Err(Block1Error::UnexpectedBlock {
            sent: 0,
            received: 3
        })
    );
    assert!(sender.is_finished());
}

#[test]
fn rfc7959_2_3_echo_counted_in_the_servers_smaller_size_is_accepted() {
    // Block 1 of 64 bytes (offset 64) acknowledged as block 4 of 16 bytes (offset 64).
    let mut sender = Block1Sender::new(body(200), 2).unwrap();
    sender
        .handle_response(Code::CONTINUE, Some(block(0, true, 2)), None)
        .unwrap();
    assert!(matches!(
        sender.handle_response(Code::CONTINUE, Some(block(4, true, 0)), None),
        Ok(Block1Progress::Send(r)) if r.block == block(8, true, 0)
    ));
}

#[test]
fn rfc7959_2_9_1_continue_to_the_final_block_is_an_error() {
    let mut sender = Block1Sender::new(body(10), 0).unwrap();
    assert_eq!(
        sender.handle_response(Code::CONTINUE, Some(block(0, true, 0)), None),
        Err(Block1Error::UnexpectedContinue)
    );
}

#[test]
fn rfc7959_2_5_success_without_block1_to_a_non_final_block_is_an_error() {
    let mut sender = Block1Sender::new(body(100), 0).unwrap();
    assert_eq!(
        sender.handle_response(Code::CHANGED, None, None),
        Err(Block1Error::MissingBlock1)
    );
    // 2.31 alone says "go on" at the same size.
    let mut sender = Block1Sender::new(body(100), 0).unwrap();
    assert!(matches!(
        sender.handle_response(Code::CONTINUE, None, None),
        Ok(Block1Progress::Send(r)) if r.block == block(1, true, 0)
    ));
}

#[test]
fn rfc7959_2_5_error_responses_are_final() {
    for code in [
        Code::REQUEST_ENTITY_INCOMPLETE,
        Code::NOT_FOUND,
        Code::INTERNAL_SERVER_ERROR,
    ] {
        let mut sender = Block1Sender::new(body(100), 0).unwrap();
        assert_eq!(
            sender.handle_response(code, None, None),
            Ok(Block1Progress::Done)
        );
        assert_eq!(
            sender.handle_response(code, None, None),
            Err(Block1Error::Finished)
        );
    }
}

#[test]
fn rfc7959_2_9_3_413_with_a_smaller_block1_restarts_at_that_size() {
    let repr = body(3000);
    let mut sender = Block1Sender::new(repr.clone(), 6).unwrap();
    sender
        .handle_response(Code::CONTINUE, Some(block(0, true, 6)), None)
        .unwrap();
    let Ok(Block1Progress::Send(first)) = sender.handle_response(
        Code::REQUEST_ENTITY_TOO_LARGE,
        Some(block(1, false, 4)),
        None,
    ) else {
        panic!()
    };
    assert_eq!(first.block, block(0, true, 4));
    assert_eq!(
        (first.payload, first.size1),
        (repr.slice(0..256), Some(3000))
    );
}

#[test]
fn rfc7959_2_9_3_413_with_size1_below_the_body_fails() {
    let mut sender = Block1Sender::new(body(3000), 6).unwrap();
    // Even with a smaller Block1 hint: the whole body is over the server's maximum.
    assert_eq!(
        sender.handle_response(
            Code::REQUEST_ENTITY_TOO_LARGE,
            Some(block(0, false, 2)),
            Some(2048)
        ),
        Err(Block1Error::TooLarge { size1: Some(2048) })
    );
    assert!(sender.is_finished());
}

#[test]
fn rfc7959_2_9_3_413_with_size1_that_fits_restarts_with_blocks_no_larger() {
    // The body (600) fits the server's 700, but a 1,024-byte message does not: 512.
    let mut sender = Block1Sender::new(body(600), 6).unwrap();
    let Ok(Block1Progress::Send(first)) =
        sender.handle_response(Code::REQUEST_ENTITY_TOO_LARGE, None, Some(700))
    else {
        panic!()
    };
    assert_eq!(first.block, block(0, true, 5));
}

#[test]
fn rfc7959_2_9_3_413_without_a_hint_fails() {
    let mut sender = Block1Sender::new(body(600), 6).unwrap();
    assert_eq!(
        sender.handle_response(Code::REQUEST_ENTITY_TOO_LARGE, None, None),
        Err(Block1Error::TooLarge { size1: None })
    );
}

#[test]
fn rfc7959_2_9_3_restarts_are_bounded_by_the_shrinking_size() {
    let mut sender = Block1Sender::new(body(600), 6).unwrap();
    let mut restarts = 0;
    // A server answering 4.13 with a Size1 that fits the body, forever.
    while let Ok(Block1Progress::Send(_)) =
        sender.handle_response(Code::REQUEST_ENTITY_TOO_LARGE, None, Some(600))
    {
        restarts += 1;
        assert!(restarts < 7);
    }
    assert!(sender.is_finished());
    // And a server repeating the same Block1 hint.
    let mut sender = Block1Sender::new(body(600), 6).unwrap();
    assert!(
        sender
            .handle_response(
                Code::REQUEST_ENTITY_TOO_LARGE,
                Some(block(0, false, 3)),
                None
            )
            .is_ok()
    );
    assert_eq!(
        sender.handle_response(
            Code::REQUEST_ENTITY_TOO_LARGE,
            Some(block(0, false, 3)),
            None
        ),
        Err(Block1Error::TooLarge { size1: None })
    );
}

#[test]
fn rfc7959_2_2_empty_body_is_one_empty_block() {
    let sender = Block1Sender::new(Bytes::new(), 6).unwrap();
    let r = sent(&sender);
    assert_eq!(
        (r.block, r.payload.len(), r.size1),
        (block(0, false, 6), 0, Some(0))
    );
}

#[test]
fn rfc7959_2_2_body_needing_more_than_2_20_blocks_is_refused() {
    let big = Bytes::from(vec![0u8; (1 << 20) * 16 + 1]);
    assert_eq!(
        Block1Sender::new(big.clone(), 0).err(),
        Some(Block1Error::BodyTooLarge)
    );
    assert!(Block1Sender::new(big, 1).is_ok());
    // A 4.13 hint down to a size that cannot number the body ends the transfer.
    let mut sender = Block1Sender::new(Bytes::from(vec![0u8; (1 << 20) * 16 + 1]), 1).unwrap();
    assert_eq!(
        sender.handle_response(
            Code::REQUEST_ENTITY_TOO_LARGE,
            Some(block(0, false, 0)),
            None
        ),
        Err(Block1Error::TooLarge { size1: None })
    );
}

// ---------------------------------------------------------------------------------------------
// Server Block2 serving
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc7959_2_4_small_representation_without_block2_goes_whole() {
    let repr = body(64);
    let s = serve_block2(&repr, etag(b"e"), None, false, 2).unwrap();
    assert_eq!(
        (s.block, s.payload, s.size2, s.etag),
        (None, repr, None, etag(b"e"))
    );
}

#[test]
fn rfc7959_4_size2_when_asked() {
    let repr = body(64);
    // Size2 = 0 in the request asks for it, with or without blocks.
    assert_eq!(
        serve_block2(&repr, None, None, true, 6).unwrap().size2,
        Some(64)
    );
    assert_eq!(
        serve_block2(&repr, None, Some(block(1, false, 0)), true, 6)
            .unwrap()
            .size2,
        Some(64)
    );
    // Not asked: only on block 0.
    assert_eq!(
        serve_block2(&repr, None, Some(block(1, false, 0)), false, 6)
            .unwrap()
            .size2,
        None
    );
    assert_eq!(
        serve_block2(&repr, None, Some(block(0, false, 0)), false, 6)
            .unwrap()
            .size2,
        Some(64)
    );
}

#[test]
fn rfc7959_2_4_server_uses_the_requested_size_or_smaller() {
    let repr = body(2000);
    // Requested 64, server allows 1,024: 64.
    let s = serve_block2(&repr, None, Some(block(3, false, 2)), false, 6).unwrap();
    assert_eq!(
        (s.block, s.payload),
        (Some(block(3, true, 2)), repr.slice(192..256))
    );
    // Requested 1,024, server allows 256: block 1 of 1,024 (offset 1,024) is block 4 of 256.
    let s = serve_block2(&repr, None, Some(block(1, false, 6)), false, 4).unwrap();
    assert_eq!(
        (s.block, s.payload),
        (Some(block(4, true, 4)), repr.slice(1024..1280))
    );
}

#[test]
fn rfc7959_2_2_request_m_bit_is_ignored() {
    let repr = body(100);
    assert_eq!(
        serve_block2(&repr, None, Some(block(0, true, 2)), false, 6),
        serve_block2(&repr, None, Some(block(0, false, 2)), false, 6)
    );
}

#[test]
fn rfc7959_2_4_last_block_has_m_zero_and_may_be_short() {
    let repr = body(100);
    let s = serve_block2(&repr, None, Some(block(6, false, 0)), false, 6).unwrap();
    assert_eq!((s.block, s.payload.len()), (Some(block(6, false, 0)), 4));
    // Exactly filling the last block: still M = 0.
    let repr = body(96);
    let s = serve_block2(&repr, None, Some(block(5, false, 0)), false, 6).unwrap();
    assert_eq!((s.block, s.payload.len()), (Some(block(5, false, 0)), 16));
}

#[test]
fn block_beyond_the_end_is_4_02_bad_option() {
    let repr = body(96);
    let e = serve_block2(&repr, None, Some(block(6, false, 0)), false, 6).unwrap_err();
    assert_eq!(
        e,
        Block2ServeError::OutOfRange {
            offset: 96,
            len: 96
        }
    );
    assert_eq!(e.code(), Code::BAD_OPTION);
    assert!(serve_block2(&repr, None, Some(block(1000, false, 6)), false, 6).is_err());
}

#[test]
fn rfc7959_2_4_empty_representation_with_block2_is_an_empty_last_block() {
    let s = serve_block2(&Bytes::new(), None, Some(block(0, false, 4)), false, 6).unwrap();
    assert_eq!(
        (s.block, s.payload.len(), s.size2),
        (Some(block(0, false, 4)), 0, Some(0))
    );
}

#[test]
fn rfc8323_6_bert_request_is_answered_with_1024_byte_blocks() {
    let repr = body(3000);
    let s = serve_block2(&repr, None, Some(block(1, false, 7)), false, 7).unwrap();
    assert_eq!((s.block, s.payload.len()), (Some(block(1, true, 6)), 1024));
}

#[test]
fn serve_and_reassemble_agree_for_every_size_pair() {
    for len in [0usize, 1, 15, 16, 17, 100, 1023, 1024, 1025, 4100] {
        let repr = body(len);
        for client_szx in 0..=6 {
            for server_szx in 0..=6 {
                let early = Block2Reassembly::with_szx(8192, client_szx);
                let (got, _) = fetch(&repr, early, server_szx).unwrap();
                assert_eq!(
                    got, repr,
                    "len {len} client {client_szx} server {server_szx}"
                );
            }
            let (got, _) = fetch(&repr, Block2Reassembly::new(8192), client_szx).unwrap();
            assert_eq!(got, repr);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Server Block1 reassembly
// ---------------------------------------------------------------------------------------------

const T0: Instant = Instant::ZERO;

fn at(secs: u64) -> Instant {
    Instant::from_millis(secs * 1000)
}

fn receiver() -> Block1Receiver<&'static str> {
    Block1Receiver::new(Block1Config::default())
}

#[test]
fn td_coap_block_04_atomic_transfer_continue_then_complete() {
    let repr = body(40);
    let mut server = receiver();
    assert_eq!(
        server.handle_block(T0, "k", block(0, true, 0), Some(40), &repr.slice(0..16)),
        Ok(Block1Outcome::Continue(block(0, true, 0)))
    );
    assert_eq!(
        server.handle_block(T0, "k", block(1, true, 0), None, &repr.slice(16..32)),
        Ok(Block1Outcome::Continue(block(1, true, 0)))
    );
    assert_eq!((server.len(), server.total_bytes()), (1, 32));
    assert_eq!(
        server.handle_block(T0, "k", block(2, false, 0), None, &repr.slice(32..)),
        Ok(Block1Outcome::Complete {
            body: repr,
            block1: block(2, false, 0)
        })
    );
    assert_eq!((server.len(), server.total_bytes()), (0, 0));
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn rfc7959_2_3_server_asks_for_smaller_blocks_in_2_31() {
    let config = Block1Config {
        preferred_szx: 4,
        ..Block1Config::default()
    };
    let mut server = Block1Receiver::new(config);
    let repr = body(1500);
    // Block 0 of 1,024 is taken; the 2.31 carries SZX 4.
    assert_eq!(
        server.handle_block(T0, 1u8, block(0, true, 6), None, &repr.slice(0..1024)),
        Ok(Block1Outcome::Continue(block(0, true, 4)))
    );
    // The client goes on with 256-byte blocks from block 4.
    assert_eq!(
        server.handle_block(T0, 1u8, block(4, true, 4), None, &repr.slice(1024..1280)),
        Ok(Block1Outcome::Continue(block(4, true, 4)))
    );
    assert_eq!(
        server.handle_block(T0, 1u8, block(5, false, 4), None, &repr.slice(1280..)),
        Ok(Block1Outcome::Complete {
            body: repr,
            block1: block(5, false, 4)
        })
    );
}

#[test]
fn rfc7959_2_5_single_block_completes_without_state() {
    let mut server = receiver();
    assert_eq!(
        server.handle_block(T0, "k", block(0, false, 6), None, &body(10)),
        Ok(Block1Outcome::Complete {
            body: body(10),
            block1: block(0, false, 6)
        })
    );
    assert!(server.is_empty());
}

#[test]
fn rfc7959_2_5_missing_block_is_4_08() {
    let mut server = receiver();
    server
        .handle_block(T0, "k", block(0, true, 0), None, &body(16))
        .unwrap();
    let e = server
        .handle_block(T0, "k", block(2, false, 0), None, &body(16))
        .unwrap_err();
    assert_eq!(
        e,
        Block1Reject::Incomplete {
            expected_offset: Some(16)
        }
    );
    assert_eq!(e.code(), Code::REQUEST_ENTITY_INCOMPLETE);
    // The transfer is still there: block 1 continues it.
    assert!(
        server
            .handle_block(T0, "k", block(1, false, 0), None, &body(16))
            .is_ok()
    );
}

#[test]
fn rfc7959_2_5_block_without_a_transfer_is_4_08() {
    let mut server = receiver();
    assert_eq!(
        server.handle_block(T0, "k", block(3, false, 0), None, &body(5)),
        Err(Block1Reject::Incomplete {
            expected_offset: None
        })
    );
}

#[test]
fn rfc7959_2_5_block_zero_again_overwrites_the_transfer() {
    let mut server = receiver();
    server
        .handle_block(T0, "k", block(0, true, 0), None, &body(16))
        .unwrap();
    server
        .handle_block(T0, "k", block(1, true, 0), None, &body(16))
        .unwrap();
    let fresh: Bytes = vec![7u8; 16].into();
    server
        .handle_block(T0, "k", block(0, true, 0), None, &fresh)
        .unwrap();
    assert_eq!(server.total_bytes(), 16);
    let Ok(Block1Outcome::Complete { body: got, .. }) =
        server.handle_block(T0, "k", block(1, false, 0), None, &Bytes::from_static(b"x"))
    else {
        panic!()
    };
    assert_eq!(&got[..16], &fresh[..]);
    assert_eq!(got.len(), 17);
}

#[test]
fn rfc7959_2_5_repeated_last_block_is_answered_again_not_appended() {
    let mut server = receiver();
    server
        .handle_block(T0, "k", block(0, true, 0), None, &body(16))
        .unwrap();
    let b1 = body(16);
    server
        .handle_block(T0, "k", block(1, true, 0), None, &b1)
        .unwrap();
    assert_eq!(
        server.handle_block(T0, "k", block(1, true, 0), None, &b1),
        Ok(Block1Outcome::Continue(block(1, true, 0)))
    );
    assert_eq!(server.total_bytes(), 32);
}

#[test]
fn rfc7959_2_9_3_size1_over_the_limit_is_4_13_with_size1() {
    let config = Block1Config {
        max_body: 1000,
        ..Block1Config::default()
    };
    let mut server: Block1Receiver<u8> = Block1Receiver::new(config);
    let e = server
        .handle_block(T0, 0, block(0, true, 4), Some(1001), &body(256))
        .unwrap_err();
    assert_eq!(e, Block1Reject::TooLarge { max: 1000 });
    assert_eq!(
        (e.code(), e.size1()),
        (Code::REQUEST_ENTITY_TOO_LARGE, Some(1000))
    );
    assert!(server.is_empty());
}

#[test]
fn rfc7959_2_9_3_body_growing_over_the_limit_is_4_13_and_dropped() {
    let config = Block1Config {
        max_body: 40,
        ..Block1Config::default()
    };
    let mut server: Block1Receiver<u8> = Block1Receiver::new(config);
    server
        .handle_block(T0, 0, block(0, true, 0), None, &body(16))
        .unwrap();
    server
        .handle_block(T0, 0, block(1, true, 0), None, &body(16))
        .unwrap();
    assert_eq!(
        server.handle_block(T0, 0, block(2, true, 0), None, &body(16)),
        Err(Block1Reject::TooLarge { max: 40 })
    );
    assert!(server.is_empty());
    assert_eq!(server.total_bytes(), 0);
    // A block whose offset alone is past the limit, before any memory.
    assert_eq!(
        server.handle_block(T0, 0, block(Block::MAX_NUM, false, 6), None, &body(1)),
        Err(Block1Reject::TooLarge { max: 40 })
    );
}

#[test]
fn rfc7959_2_5_no_resources_is_4_13_without_size1() {
    let config = Block1Config {
        max_total: 40,
        max_transfers: 2,
        ..Block1Config::default()
    };
    let mut server: Block1Receiver<u8> = Block1Receiver::new(config);
    server
        .handle_block(T0, 1, block(0, true, 0), None, &body(16))
        .unwrap();
    server
        .handle_block(T0, 2, block(0, true, 0), None, &body(16))
        .unwrap();
    // A third transfer: too many.
    let e = server
        .handle_block(T0, 3, block(0, true, 0), None, &body(16))
        .unwrap_err();
    assert_eq!(
        (e, e.code(), e.size1()),
        (Block1Reject::Busy, Code::REQUEST_ENTITY_TOO_LARGE, None)
    );
    // Growing one past the total: too many bytes; that transfer is dropped.
    assert_eq!(
        server.handle_block(T0, 1, block(1, true, 0), None, &body(16)),
        Err(Block1Reject::Busy)
    );
    assert_eq!((server.len(), server.total_bytes()), (1, 16));
    // Single-block requests need no room.
    assert!(
        server
            .handle_block(T0, 3, block(0, false, 0), None, &body(16))
            .is_ok()
    );
}

#[test]
fn rfc7959_2_5_abandoned_transfer_expires_after_exchange_lifetime() {
    let mut server = receiver();
    server
        .handle_block(at(10), "k", block(0, true, 0), None, &body(16))
        .unwrap();
    assert_eq!(server.poll_timeout(), Some(at(10 + 247)));
    server
        .handle_block(at(100), "k", block(1, true, 0), None, &body(16))
        .unwrap();
    assert_eq!(server.poll_timeout(), Some(at(100 + 247)));
    server.handle_timeout(at(346));
    assert_eq!(server.len(), 1);
    server.handle_timeout(at(347));
    assert!(server.is_empty());
    assert_eq!(server.total_bytes(), 0);
    assert_eq!(
        server.handle_block(at(348), "k", block(2, false, 0), None, &body(3)),
        Err(Block1Reject::Incomplete {
            expected_offset: None
        })
    );
}

#[test]
fn rfc7959_2_5_expired_transfers_are_dropped_when_the_next_block_arrives() {
    let config = Block1Config {
        lifetime: Duration::from_secs(5),
        ..Block1Config::default()
    };
    let mut server = Block1Receiver::new(config);
    server
        .handle_block(T0, "k", block(0, true, 0), None, &body(16))
        .unwrap();
    assert_eq!(
        server.handle_block(at(5), "k", block(1, false, 0), None, &body(3)),
        Err(Block1Reject::Incomplete {
            expected_offset: None
        })
    );
}

#[test]
fn rfc7959_2_2_short_non_final_block_is_4_00() {
    let mut server = receiver();
    let e = server
        .handle_block(T0, "k", block(0, true, 2), None, &body(63))
        .unwrap_err();
    assert_eq!(
        (e, e.code()),
        (Block1Reject::WrongBlockLength, Code::BAD_REQUEST)
    );
}

#[test]
fn transfers_under_different_keys_are_independent() {
    let mut server = receiver();
    server
        .handle_block(T0, "a", block(0, true, 0), None, &body(16))
        .unwrap();
    server
        .handle_block(T0, "b", block(0, true, 0), None, &vec![1u8; 16].into())
        .unwrap();
    let Ok(Block1Outcome::Complete { body: a, .. }) =
        server.handle_block(T0, "a", block(1, false, 0), None, &body(1))
    else {
        panic!()
    };
    assert_eq!(&a[..16], &body(16)[..]);
    assert_eq!(server.len(), 1);
    assert_eq!(server.remove(&"b").map(|b| b.len()), Some(16));
    assert_eq!(server.total_bytes(), 0);
}

#[test]
fn rfc7959_2_5_sender_and_receiver_agree() {
    for len in [0usize, 1, 16, 17, 500, 1024, 1025, 5000] {
        for client_szx in 0..=6 {
            for server_szx in 0..=6 {
                let repr = body(len);
                let config = Block1Config {
                    preferred_szx: server_szx,
                    ..Block1Config::default()
                };
                let mut server = Block1Receiver::new(config);
                let mut client = Block1Sender::new(repr.clone(), client_szx).unwrap();
                let mut request = client.current().unwrap();
                let mut rounds = 0;
                let got = loop {
                    rounds += 1;
                    assert!(rounds < 1000);
                    let outcome = server
                        .handle_block(T0, "k", request.block, request.size1, &request.payload)
                        .unwrap();
                    let (code, ack) = match &outcome {
                        Block1Outcome::Continue(b) => (Code::CONTINUE, *b),
                        Block1Outcome::Complete { block1, .. } => (Code::CHANGED, *block1),
                    };
                    match client.handle_response(code, Some(ack), None).unwrap() {
                        Block1Progress::Send(next) => request = next,
                        Block1Progress::Done => {
                            let Block1Outcome::Complete { body, .. } = outcome else {
                                panic!()
                            };
                            break body;
                        }
                    }
                };
                assert_eq!(
                    got, repr,
                    "len {len} client {client_szx} server {server_szx}"
                );
            }
        }
    }
}

#[test]
fn rfc7959_request_key_is_peer_method_and_target_options() {
    let peer = "192.0.2.1:5683".parse().unwrap();
    let other = "192.0.2.2:5683".parse().unwrap();
    let opts = |path: &str, b: Block, size1: Option<u32>| {
        let mut o = Options::builder()
            .push_uri_path(path)
            .unwrap()
            .push_block1(b);
        if let Some(s) = size1 {
            o = o.push_size1(s);
        }
        o.build().unwrap()
    };
    let k0 = RequestKey::new(
        peer,
        Code::PUT,
        &opts("large", block(0, true, 6), Some(3000)),
    );
    let k1 = RequestKey::new(peer, Code::PUT, &opts("large", block(1, false, 6), None));
    assert_eq!(k0, k1);
    assert_eq!(k0.peer(), peer);
    assert_ne!(
        k0,
        RequestKey::new(other, Code::PUT, &opts("large", block(1, false, 6), None))
    );
    assert_ne!(
        k0,
        RequestKey::new(peer, Code::PUT, &opts("small", block(1, false, 6), None))
    );
    assert_ne!(
        k0,
        RequestKey::new(peer, Code::POST, &opts("large", block(1, false, 6), None))
    );
    // Request-Tag keeps concurrent transfers apart (RFC 9175 §3).
    let tagged = Options::builder()
        .push_uri_path("large")
        .unwrap()
        .push_block1(block(1, false, 6))
        .push_request_tag(RequestTag::new(&[1]).unwrap())
        .build()
        .unwrap();
    assert_ne!(k0, RequestKey::new(peer, Code::PUT, &tagged));
}

#[test]
fn szx_for_size_picks_the_largest_block_that_fits() {
    assert_eq!(szx_for_size(0), None);
    assert_eq!(szx_for_size(16), Some(0));
    assert_eq!(szx_for_size(31), Some(0));
    assert_eq!(szx_for_size(32), Some(1));
    assert_eq!(szx_for_size(u64::MAX), Some(6));
}

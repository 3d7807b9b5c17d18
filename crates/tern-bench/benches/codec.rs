//! The same cases as `tern-bench`, under criterion, for its per-implementation reports.
//!
//! Criterion times one implementation after the other, so on a shared machine its
//! cross-implementation ratios can swing by tens of percent; the interleaved runner
//! (`cargo xtask bench`) is the one whose ratios we report. Filter as usual:
//! `cargo bench -p tern-bench --bench codec -- "3.1.1 decode PUBLISH"`, or `-- CoAP` for the
//! CoAP cases (tern-coap, coap-lite, coap-message-implementations).

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tern_bench::cases;

fn codec(c: &mut Criterion) {
    for mut case in cases::build_cases(None) {
        let mut group = c.benchmark_group(&case.name);
        group.throughput(Throughput::Bytes(case.bytes_per_op as u64));
        for contender in &mut case.contenders {
            let runner = &mut contender.runner;
            group.bench_function(contender.imp.name(), |b| {
                b.iter_custom(|iters| runner.run(iters).time)
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = codec
}
criterion_main!(benches);

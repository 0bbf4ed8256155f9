//! The password KDF natively: PBKDF2-HMAC-SHA256 at the iterations Vigia stores, in this
//! crate's pure Rust (what the Worker ran in wasm before it used WebCrypto). Prints figures;
//! `./vigia bench` runs it beside scripts/bench-login.mjs (the Worker's logins).
use analytics_core::accounts::auth::{hash_password, PBKDF2_ITERATIONS};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn kdf(c: &mut Criterion) {
    let mut g = c.benchmark_group("kdf");
    g.sample_size(10);
    g.bench_function(
        format!("pbkdf2-sha256 {PBKDF2_ITERATIONS} iterations, pure Rust, native"),
        |b| {
            b.iter(|| {
                hash_password(
                    black_box("a long test password"),
                    b"0123456789abcdef",
                    PBKDF2_ITERATIONS,
                )
            })
        },
    );
    g.finish();
}

criterion_group!(benches, kdf);
criterion_main!(benches);

//! Compile tests of `#[whisk::action]`: the accepted signatures build, and
//! every misuse fails with one clear error at the offending token.
//!
//! The expected compiler output of each failing case is pinned in the
//! `.stderr` file beside it. After a deliberate change of a message, or with
//! a rustc that words things differently, regenerate them with
//! `TRYBUILD=overwrite cargo test --test compile` and review the diff.

#[test]
fn ui() {
    // trybuild also *runs* each passing case, with stdin on /dev/null: the
    // generated `main` would detect HTTP mode and serve forever. In exec
    // mode it runs one activation on the empty input (`{}`) and exits, so
    // every pass case is written to succeed on `{}`.
    //
    // SAFETY: this is the only test of this binary, and nothing else runs
    // yet: no other thread reads the environment concurrently.
    unsafe { std::env::set_var("WHISK_MODE", "exec") };

    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

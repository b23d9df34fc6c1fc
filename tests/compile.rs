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
    // The pass cases are linked and run, without debug info: they are
    // never debugged, and linking is most of their cost.
    //
    // SAFETY: this is the only test of this binary, and nothing else runs
    // yet: no other thread reads the environment concurrently.
    unsafe {
        std::env::set_var("WHISK_MODE", "exec");
        std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "0");
    }

    // Two runs of trybuild: the failing cases alone are only type-checked
    // (`cargo check`); together with the passing ones they would all be
    // built, code generation included.
    let pass = trybuild::TestCases::new();
    pass.pass("tests/ui/pass/*.rs");
    drop(pass);
    let fail = trybuild::TestCases::new();
    fail.compile_fail("tests/ui/fail/*.rs");
}

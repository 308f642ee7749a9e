//! The `icl-lab` binary: the native CLI in `cli/`. For wasm32 (where cargo still
//! builds binaries beside the browser tests) it is an empty program.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}

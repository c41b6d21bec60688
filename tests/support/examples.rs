//! Where the example binaries are: tests that run `echo-server` and the lessons as child
//! processes find them here.

use std::path::PathBuf;

/// `target/<profile>/examples/<name>`, next to the running test binary's `deps/` directory, or
/// `None` if it has not been built. `cargo test` at the root builds every example before the
/// tests run: the examples are the `evloop-examples` package (`examples/Cargo.toml`), a default
/// workspace member beside `evloop`. `cargo test -p evloop` and `cargo test --test NAME` do
/// not build them.
pub fn example_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let binary = profile_dir.join("examples").join(name);
    binary.is_file().then_some(binary)
}

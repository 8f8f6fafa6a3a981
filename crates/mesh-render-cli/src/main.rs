use std::process::ExitCode;

fn main() -> ExitCode {
    mesh_render_cli::run(std::env::args_os())
}

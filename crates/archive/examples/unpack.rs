//! Unpack a layer tar (plain, gzip or zstd) into a directory, as the benchmark (bench/unpack.sh) drives it:
//! `cargo run --release -p berth-archive --example unpack -- TAR DEST`

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tar, dest] = args.as_slice() else {
        eprintln!("usage: unpack TAR DEST");
        return ExitCode::from(2);
    };
    let result = std::fs::File::open(tar)
        .map_err(|e| format!("{tar}: {e}"))
        .and_then(|file| {
            std::fs::create_dir_all(dest).map_err(|e| format!("{dest}: {e}"))?;
            berth_archive::unpack_layer(file, dest.as_ref()).map_err(|e| e.to_string())
        });
    match result {
        Ok(layer) => {
            println!("{} {}", layer.diff_id, layer.size);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unpack: {e}");
            ExitCode::FAILURE
        }
    }
}

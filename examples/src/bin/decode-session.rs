//! Decodes a PostgreSQL session recorded from a real server and prints every
//! message, client side first, then server side.
//!
//! ```text
//! cargo run -p postwire-examples --bin decode-session [simple_query|extended_query|negotiate_3_2|PATH_PREFIX]
//! ```
//! A `PATH_PREFIX` names a pair of files `PREFIX.frontend.bin` and `PREFIX.backend.bin`.

use std::{env, fs, path::PathBuf, process::ExitCode};

use postwire_codec::{
    DecodeError, FrameLimits, Framed,
    backend::{Authentication, BackendMessage},
    frame::is_direct_tls,
    frontend::{FrontendMessage, StartupPacket},
};

fn main() -> ExitCode {
    let name = env::args().nth(1).unwrap_or_else(|| "simple_query".to_owned());
    let prefix = if name.contains('/') {
        PathBuf::from(name)
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../codec/tests/fixtures").join(name)
    };
    let read = |side: &str| {
        let path = prefix.with_extension(format!("{side}.bin"));
        fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (frontend, backend) = match (read("frontend"), read("backend")) {
        (Ok(f), Ok(b)) => (f, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("cannot read the recording: {e}");
            return ExitCode::FAILURE;
        }
    };

    println!("=== client → server ({} bytes)", frontend.len());
    let client = print_frontend(&frontend);
    println!("\n=== server → client ({} bytes)", backend.len());
    let server = print_backend(&backend);
    match client.and(server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("decode error: {e} (SQLSTATE {})", e.sqlstate());
            ExitCode::FAILURE
        }
    }
}

/// Startup-phase packets until the StartupMessage, then tagged messages.
fn print_frontend(mut input: &[u8]) -> Result<(), DecodeError> {
    let limits = FrameLimits::DEFAULT;
    if is_direct_tls(input) {
        println!("direct TLS ClientHello: the rest is encrypted");
        return Ok(());
    }
    loop {
        let Framed::Complete { item, consumed } = StartupPacket::parse(input, &limits)? else {
            println!("(recording ends inside a startup packet)");
            return Ok(());
        };
        println!("{item:?}");
        input = &input[consumed..];
        if matches!(item, StartupPacket::Startup(_) | StartupPacket::CancelRequest(_)) {
            break;
        }
    }
    while !input.is_empty() {
        let Framed::Complete { item, consumed } = FrontendMessage::parse(input, &limits)? else {
            println!("(recording ends mid-message)");
            break;
        };
        match item {
            FrontendMessage::AuthResponse(r) => println!("AuthResponse({})", text(r.body)),
            FrontendMessage::CopyData(d) => println!("CopyData({})", text(d.data)),
            other => println!("{other:?}"),
        }
        input = &input[consumed..];
    }
    Ok(())
}

fn print_backend(mut input: &[u8]) -> Result<(), DecodeError> {
    let limits = FrameLimits::DEFAULT;
    while !input.is_empty() {
        let Framed::Complete { item, consumed } = BackendMessage::parse(input, &limits)? else {
            println!("(recording ends mid-message)");
            break;
        };
        match item {
            BackendMessage::DataRow(row) => {
                let cells: Vec<String> = row
                    .cells()
                    .map(|c| match c {
                        Ok(c) => c.map_or_else(|| "NULL".to_owned(), text),
                        Err(e) => format!("<malformed cell: {e}>"),
                    })
                    .collect();
                println!("DataRow({})", cells.join(", "));
            }
            BackendMessage::CopyData(d) => println!("CopyData({})", text(d.data)),
            BackendMessage::Authentication(Authentication::SaslContinue { data }) => {
                println!("Authentication(SaslContinue {})", text(data))
            }
            BackendMessage::Authentication(Authentication::SaslFinal { data }) => {
                println!("Authentication(SaslFinal {})", text(data))
            }
            other => println!("{other:?}"),
        }
        input = &input[consumed..];
    }
    Ok(())
}

/// Bytes as a quoted string, escaping what is not printable UTF-8.
fn text(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

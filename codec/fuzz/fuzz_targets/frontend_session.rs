//! Arbitrary bytes from a server, in arbitrary chunks, into the frontend
//! machine after it sent its startup, with requests queued as the input
//! chooses: the machine never panics and never loops.
#![no_main]

use rand::SeedableRng;
use rand::rngs::StdRng;
use libfuzzer_sys::fuzz_target;
use postwire_codec::frontend::{StartupParams, TargetKind};
use postwire_codec::session::frontend::{Config, Event, Frontend};


fuzz_target!(|data: &[u8]| {
    let (choices, input) = data.split_at(data.len().min(16));
    let mut choice = {
        let mut i = 0;
        move || {
            let b = choices.get(i % choices.len().max(1)).copied().unwrap_or(0);
            i += 1;
            b
        }
    };
    let mut rng = StdRng::seed_from_u64(3);
    let mut frontend: Frontend<Vec<u8>> = Frontend::new(vec![0; 1024], Config::DEFAULT);
    if frontend.start(StartupParams::from_slice(&[("user", "u")]), &mut rng).is_err() {
        return;
    }
    let mut buffered: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut steps = 0;
    while fed < input.len() {
        // Queue a request (most fail before login; that is fine).
        let _ = match choice() % 6 {
            0 => frontend.send_query("SELECT 1").map(drop),
            1 => frontend.send_parse("s", "SELECT $1", &[]).map(drop),
            2 => frontend.send_bind("", "s", &[], &[Some(b"1")], &[]).map(drop),
            3 => frontend.send_describe(TargetKind::Portal, "").map(drop),
            4 => frontend.send_execute("", 1).map(drop),
            _ => frontend.send_sync().map(drop),
        };
        let pending = frontend.pending_output().len();
        frontend.consume_output(pending);
        let chunk = usize::from(choice() % 64) + 1;
        let end = (fed + chunk).min(input.len());
        buffered.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            steps += 1;
            assert!(steps < 100_000, "the machine keeps going without input");
            let Ok(step) = frontend.handle_input(&buffered) else { return };
            let consumed = step.consumed;
            assert!(consumed <= buffered.len());
            let had_event = step.event.is_some();
            match step.event {
                Some(Event::PasswordRequired { .. }) => {
                    let _ = frontend.provide_password(b"pw");
                }
                Some(Event::CopyIn { .. }) => {
                    let _ = frontend.send_copy_done();
                }
                _ => {}
            }
            buffered.drain(..consumed);
            if !had_event && consumed == 0 {
                break;
            }
        }
    }
});

//! What swell's benchmarks share: the permessage-deflate presets they compare, and the chat
//! messages those are measured on.

use swell_deflate::DeflateConfig;

/// The presets, by the name the tables use: swell's three, and the context-takeover one with
/// a 4 KiB window and memory level 5 (python `websockets`' sizes) to show what sizing buys
/// with zlib-rs.
pub fn deflate_presets() -> Vec<(&'static str, DeflateConfig)> {
    vec![
        ("default", DeflateConfig::default()),
        ("no-context-takeover", DeflateConfig::no_context_takeover()),
        ("context-takeover", DeflateConfig::context_takeover()),
        (
            "context-takeover-12",
            DeflateConfig::context_takeover()
                .server_max_window_bits(12)
                .mem_level(5),
        ),
    ]
}

/// The `i`th message of a chat stream, as JSON: ~100 bytes, each different, with the field
/// names and much of the text repeated from message to message, as real chat traffic is.
pub fn chat_message(i: usize) -> String {
    const WORDS: [&str; 8] = [
        "standup", "deploy", "review", "lunch", "release", "incident", "coffee", "merge",
    ];
    format!(
        r#"{{"id":{},"room":"team-{}","user":"user{}","text":"{} at {}:{:02}?"}}"#,
        10_000 + i * 7,
        i % 5,
        (i * 31) % 97,
        WORDS[i % WORDS.len()],
        9 + i % 9,
        (i * 13) % 60
    )
}

/// `size` bytes of chat messages, one after the other.
pub fn chat_lines(size: usize) -> Vec<u8> {
    chat_lines_from(0, size)
}

/// `size` bytes of chat messages, from the `first`th on.
pub fn chat_lines_from(first: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 128);
    let mut i = first;
    while out.len() < size {
        out.extend_from_slice(chat_message(i).as_bytes());
        i += 1;
    }
    out.truncate(size);
    out
}

//! The local MoChat API server (placeholder until the server lands).
fn main() {}

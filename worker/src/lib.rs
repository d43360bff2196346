//! The edge worker (placeholder).

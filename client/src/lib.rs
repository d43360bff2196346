//! The dashboard (placeholder).

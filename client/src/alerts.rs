//! How the dashboard tells its operator a message came: a desktop
//! notification and a short chime, each as the operator turned them on in
//! this browser, and neither for a session they muted. Mutes are kept per
//! agent in `localStorage`, so they survive a reload.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::browser;

/// `localStorage` key of the choice to hear a chime.
const SOUND_KEY: &str = "mochat.sound";

/// Sessions the operator muted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutes(BTreeSet<String>);

impl Mutes {
    /// As stored (none when absent or unreadable).
    pub fn from_json(text: Option<&str>) -> Self {
        text.and_then(|t| crate::json::parse(t).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        crate::json::to_text(self).unwrap_or_default()
    }

    pub fn is_muted(&self, session_id: &str) -> bool {
        self.0.contains(session_id)
    }

    /// Mutes `session_id`, or unmutes it when it was muted.
    pub fn toggle(&mut self, session_id: &str) {
        if !self.0.remove(session_id) {
            self.0.insert(session_id.to_owned());
        }
    }
}

/// Whether the operator turned the chime on.
pub fn sound_on() -> bool {
    browser::load(SOUND_KEY).as_deref() == Some("on")
}

/// Turns the chime on (playing it once, which also lets the browser play
/// it later: it was asked for by a click) or off.
pub fn set_sound(on: bool) {
    browser::store(SOUND_KEY, on.then_some("on"));
    if on {
        chime();
    }
}

/// Tells of a new message: a notification (if turned on) and the chime (if
/// turned on).
pub fn alert(title: &str, body: &str) {
    browser::notify(title, body);
    if sound_on() {
        chime();
    }
}

thread_local! {
    static AUDIO: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
}

/// A short two-tone chime, made in the browser (no sound file to load).
pub fn chime() {
    AUDIO.with(|audio| {
        let mut audio = audio.borrow_mut();
        if audio.is_none() {
            *audio = web_sys::AudioContext::new().ok();
        }
        let Some(ctx) = audio.as_ref() else {
            return;
        };
        let _ = ctx.resume();
        let now = ctx.current_time();
        for (i, hz) in [880.0, 1320.0].into_iter().enumerate() {
            let (Ok(tone), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
                return;
            };
            let at = now + 0.12 * i as f64;
            tone.frequency().set_value(hz);
            let level = gain.gain();
            let _ = level.set_value_at_time(0.0001, at);
            let _ = level.exponential_ramp_to_value_at_time(0.15, at + 0.01);
            let _ = level.exponential_ramp_to_value_at_time(0.0001, at + 0.2);
            let _ = tone.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&ctx.destination());
            let _ = tone.start_with_when(at);
            let _ = tone.stop_with_when(at + 0.22);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn mutes_toggle_and_survive_a_round_trip() {
        let mut m = Mutes::default();
        m.toggle("s1");
        m.toggle("s2");
        m.toggle("s2");
        assert!(m.is_muted("s1") && !m.is_muted("s2"));
        let back = Mutes::from_json(Some(&m.to_json()));
        assert_eq!(back, m);
        assert_eq!(Mutes::from_json(Some("not json")), Mutes::default());
        assert_eq!(Mutes::from_json(None), Mutes::default());
    }
}

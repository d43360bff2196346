//! JSON in the browser: the browser's own `JSON` reads and writes the text,
//! and `serde_json::Value` carries it to and from Rust types. No JSON parser,
//! number parser or number formatter is compiled into the WebAssembly (they
//! were a tenth of the widget's weight).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast, JsValue};

/// Nesting deeper than this reads as `null` (nothing we exchange nests so deep).
const MAX_DEPTH: usize = 64;

/// Parses JSON text into `T`; the reason when it is not JSON or not a `T`.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
    from_js(&value)
}

/// Reads a JavaScript value (e.g. a `postMessage` payload) as `T`.
pub fn from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    serde_json::from_value(value_of(value, 0)).map_err(|e| e.to_string())
}

/// `value` as a plain JavaScript value, as `JSON.parse` would give it.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Option<JsValue> {
    serde_json::to_value(value).ok().map(|v| js_of(&v))
}

/// `value` as JSON text.
pub fn to_text<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    js_sys::JSON::stringify(&to_js(value)?).ok()?.as_string()
}

/// A JavaScript value as JSON data (functions and the like read as `null`).
fn value_of(v: &JsValue, depth: usize) -> Value {
    if let Some(b) = v.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = v.as_f64() {
        number(n)
    } else if let Some(s) = v.as_string() {
        Value::String(s)
    } else if depth >= MAX_DEPTH {
        Value::Null
    } else if let Some(a) = v.dyn_ref::<js_sys::Array>() {
        Value::Array(a.iter().map(|x| value_of(&x, depth + 1)).collect())
    } else if let Some(o) = v.dyn_ref::<js_sys::Object>() {
        let mut map = Map::new();
        for entry in js_sys::Object::entries(o).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            if let Some(key) = pair.get(0).as_string() {
                map.insert(key, value_of(&pair.get(1), depth + 1));
            }
        }
        Value::Object(map)
    } else {
        Value::Null
    }
}

/// A JavaScript number: an integer when it is one (and exact), else a float.
fn number(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= EXACT {
        // Exact integers within ±2^53 convert without loss.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return if n >= 0.0 {
            Value::Number(Number::from(n as u64))
        } else {
            Value::Number(Number::from(n as i64))
        };
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// JSON data as a JavaScript value.
fn js_of(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => n.as_f64().map_or(JsValue::NULL, JsValue::from_f64),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(js_of).collect::<js_sys::Array>().into(),
        Value::Object(map) => {
            let o = js_sys::Object::new();
            for (k, v) in map {
                let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &js_of(v));
            }
            o.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use mochat_api::{Message, MessagePage};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn api_shapes_round_trip() {
        let text = r#"{"messages":[{"messageId":"m1","sessionId":"s1","author":"u1",
            "authorInfo":{"userId":"u1","type":"agent","name":"Ada"},
            "content":"hi <b>","createdAt":"2026-01-01T00:00:00.000Z",
            "meta":{"clientId":"c1","n":9007199254740991,"deep":{"a":[1,2.5,null,true]}}}],
            "cursor":"m0","hasMore":false}"#;
        let page: MessagePage = parse(text).expect("a page");
        let m: &Message = &page.messages[0];
        assert_eq!(m.content, "hi <b>");
        assert_eq!(m.meta["deep"]["a"][1], 2.5);
        let again: MessagePage = parse(&to_text(&page).expect("text")).expect("again");
        assert_eq!(again, page);
    }

    #[wasm_bindgen_test]
    fn maps_are_objects_and_bad_input_is_an_error() {
        let cursors = BTreeMap::from([("s1".to_owned(), 42u64)]);
        assert_eq!(to_text(&cursors).as_deref(), Some(r#"{"s1":42}"#));
        assert!(parse::<MessagePage>("{").is_err());
        assert!(parse::<MessagePage>(r#"{"messages": 3}"#).is_err());
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(
            parse::<Value>(&deep).is_ok(),
            "deep nesting reads, cut to null"
        );
        assert_eq!(
            parse::<Value>("-3").expect("a number"),
            serde_json::json!(-3)
        );
        assert_eq!(
            parse::<Value>("0.5").expect("a number"),
            serde_json::json!(0.5)
        );
    }
}

//! What a WebAssembly file is made of: bytes per section, and code bytes per
//! crate from the function names (like `cargo bloat --crates`, from the
//! `name` section that rustc leaves in the wasm before wasm-bindgen/wasm-opt).

use std::collections::BTreeMap;

/// Bytes per section: `code`, `data`, `custom:<name>`, `other`.
pub fn sections(bytes: &[u8]) -> Vec<(String, usize)> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for (id, name, body) in raw_sections(bytes) {
        let key = match id {
            10 => "code".to_owned(),
            11 => "data".to_owned(),
            0 => format!("custom:{name}"),
            _ => "other (types, imports, exports, tables, …)".to_owned(),
        };
        *out.entry(key).or_default() += body.len();
    }
    let mut list: Vec<_> = out.into_iter().collect();
    list.sort_by_key(|b| std::cmp::Reverse(b.1));
    list
}

/// Code bytes of every function, largest first, by name (functions without
/// a name are `[unnamed]`). wasm-bindgen's describe functions are left out:
/// it reads and removes them, they are never shipped.
pub fn functions(bytes: &[u8]) -> Vec<(String, usize)> {
    let sections = raw_sections(bytes);
    let imported = sections
        .iter()
        .find(|(id, _, _)| *id == 2)
        .map_or(0, |(_, _, body)| imported_functions(body));
    let names = sections
        .iter()
        .find(|(id, name, _)| *id == 0 && name == "name")
        .map(|(_, _, body)| function_names(body))
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some((_, _, code)) = sections.iter().find(|(id, _, _)| *id == 10) {
        for (i, size) in body_sizes(code).into_iter().enumerate() {
            let name = names.get(&(imported + i as u32));
            if name
                .is_some_and(|n| n.starts_with("__wbindgen_describe") || n.contains("WasmDescribe"))
            {
                continue;
            }
            out.push((
                name.cloned().unwrap_or_else(|| "[unnamed]".to_owned()),
                size,
            ));
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.1));
    out
}

/// Code bytes per crate, largest first, from function names. Functions
/// without a name, or whose name names no crate, count as `[unknown]`.
pub fn code_by_crate(bytes: &[u8]) -> Vec<(String, usize)> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for (name, size) in functions(bytes) {
        let krate = crate_of(&name).unwrap_or_else(|| "[unknown]".to_owned());
        *out.entry(krate).or_default() += size;
    }
    let mut list: Vec<_> = out.into_iter().collect();
    list.sort_by_key(|b| std::cmp::Reverse(b.1));
    list
}

/// Functions with the same readable name (generic copies, closures of one
/// function) summed: `(name, bytes, copies)`, largest first.
pub fn by_readable_name(functions: &[(String, usize)]) -> Vec<(String, usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (name, size) in functions {
        let e = out.entry(readable(name)).or_default();
        e.0 += size;
        e.1 += 1;
    }
    let mut list: Vec<_> = out.into_iter().map(|(k, (b, n))| (k, b, n)).collect();
    list.sort_by_key(|f| std::cmp::Reverse(f.1));
    list
}

/// A demangled name without its hash (`::h0123…`) and crate disambiguators
/// (`core[c593…]`).
pub fn readable(name: &str) -> String {
    let name = match name.rfind("::h") {
        Some(i) if name.len() - i == 19 && name[i + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => {
            &name[..i]
        }
        _ => name,
    };
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        let tail = &rest[open + 1..];
        match tail.find(']') {
            Some(close) if close >= 8 && tail[..close].bytes().all(|b| b.is_ascii_hexdigit()) => {
                out.push_str(&rest[..open]);
                rest = &tail[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `(id, custom name, body)` of every section; stops at anything malformed.
fn raw_sections(bytes: &[u8]) -> Vec<(u8, String, &[u8])> {
    let mut out = Vec::new();
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return out;
    }
    let mut at = 8;
    while at < bytes.len() {
        let id = bytes[at];
        let Some((len, next)) = leb(bytes, at + 1) else {
            break;
        };
        let end = next + len as usize;
        let Some(body) = bytes.get(next..end) else {
            break;
        };
        let name = if id == 0 {
            name_at(body, 0).map(|(n, _)| n).unwrap_or_default()
        } else {
            String::new()
        };
        out.push((id, name, body));
        at = end;
    }
    out
}

/// An unsigned LEB128 at `at`: the value and the position after it.
fn leb(bytes: &[u8], mut at: usize) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *bytes.get(at)?;
        at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, at));
        }
        shift += 7;
        if shift > 35 {
            return None;
        }
    }
}

/// A length-prefixed UTF-8 name at `at`.
fn name_at(bytes: &[u8], at: usize) -> Option<(String, usize)> {
    let (len, at) = leb(bytes, at)?;
    let end = at + len as usize;
    let text = bytes.get(at..end)?;
    Some((String::from_utf8_lossy(text).into_owned(), end))
}

/// How many functions the import section imports (they come first in the index space).
fn imported_functions(body: &[u8]) -> u32 {
    let Some((count, mut at)) = leb(body, 0) else {
        return 0;
    };
    let mut functions = 0;
    for _ in 0..count {
        let Some((_, next)) = name_at(body, at).and_then(|(_, a)| name_at(body, a)) else {
            break;
        };
        at = next;
        let Some(&kind) = body.get(at) else { break };
        at += 1;
        let skip = match kind {
            0 => leb(body, at).map(|(_, a)| a),     // function: type index
            1 => limits(body, at + 1),              // table: reftype, limits
            2 => limits(body, at),                  // memory: limits
            3 => Some(at + 2),                      // global: valtype, mutability
            4 => leb(body, at + 1).map(|(_, a)| a), // tag: attribute, type index
            _ => None,
        };
        if kind == 0 {
            functions += 1;
        }
        match skip {
            Some(a) => at = a,
            None => break,
        }
    }
    functions
}

fn limits(body: &[u8], at: usize) -> Option<usize> {
    let flags = *body.get(at)?;
    let (_, at) = leb(body, at + 1)?;
    if flags & 1 == 1 {
        leb(body, at).map(|(_, a)| a)
    } else {
        Some(at)
    }
}

/// The size of every function body of the code section, in order.
fn body_sizes(code: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let Some((count, mut at)) = leb(code, 0) else {
        return out;
    };
    for _ in 0..count {
        let Some((size, next)) = leb(code, at) else {
            break;
        };
        out.push(size as usize);
        at = next + size as usize;
    }
    out
}

/// Function index → name, from the `name` section's function names.
fn function_names(body: &[u8]) -> BTreeMap<u32, String> {
    let mut names = BTreeMap::new();
    // The section's own name comes first.
    let Some((_, mut at)) = name_at(body, 0) else {
        return names;
    };
    while at < body.len() {
        let kind = body[at];
        let Some((len, start)) = leb(body, at + 1) else {
            break;
        };
        let end = start + len as usize;
        if kind == 1 {
            let Some((count, mut p)) = leb(body, start) else {
                break;
            };
            for _ in 0..count {
                let Some((index, q)) = leb(body, p) else {
                    break;
                };
                let Some((name, r)) = name_at(body, q) else {
                    break;
                };
                names.insert(index, name);
                p = r;
            }
        }
        at = end;
    }
    names
}

/// The crate a (mangled or demangled) Rust symbol belongs to: its first path
/// segment, or for `<T as Trait>` impls the type's crate, else the trait's.
pub fn crate_of(symbol: &str) -> Option<String> {
    if let Some(v0) = symbol.strip_prefix("_R") {
        return v0_crate(v0);
    }
    let path = match symbol.strip_prefix("_ZN") {
        Some(mangled) => {
            // Legacy mangling: length-prefixed segments; keep the first, readable.
            let digits: String = mangled.chars().take_while(char::is_ascii_digit).collect();
            let len: usize = digits.parse().ok()?;
            let segment = mangled.get(digits.len()..digits.len() + len)?;
            segment
                .replace("$LT$", "<")
                .replace("$GT$", ">")
                .replace("$u20$", " ")
                .replace("$RF$", "&")
                .replace("$BP$", "*")
                .replace("$u5b$", "[")
                .replace("..", "::")
                .trim_start_matches('_')
                .to_owned()
                // The first segment is the whole first path element.
                + "::"
        }
        None => readable(symbol),
    };
    let head = |s: &str| -> Option<String> {
        let s = s.trim_start_matches(['<', '&', '*', '[', ' ']);
        let s = s
            .strip_prefix("mut ")
            .or_else(|| s.strip_prefix("const "))
            .or_else(|| s.strip_prefix("dyn "))
            .unwrap_or(s);
        let word: String = s
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!word.is_empty() && s[word.len()..].starts_with("::")).then_some(word)
    };
    if path.starts_with('<') {
        return head(&path).or_else(|| head(path.split(" as ").nth(1)?));
    }
    head(&path)
}

/// The first crate root of a v0-mangled symbol (after `_R`), e.g.
/// `NvNtCsgXGp5Oqx2Ny_4core3fmt5write` → `core`: `C`, an optional
/// disambiguator `s<base62>_`, then a length-prefixed identifier (with a `_`
/// separator when it starts with a digit or `_`).
fn v0_crate(s: &str) -> Option<String> {
    let b = s.as_bytes();
    for i in 0..b.len() {
        if b[i] != b'C' {
            continue;
        }
        let mut j = i + 1;
        if b.get(j) == Some(&b's') {
            j += 1;
            while b.get(j).is_some_and(u8::is_ascii_alphanumeric) {
                j += 1;
            }
            if b.get(j) != Some(&b'_') {
                continue;
            }
            j += 1;
        }
        let digits = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let Ok(len) = s[digits..j].parse::<usize>() else {
            continue;
        };
        if b.get(j) == Some(&b'_') {
            j += 1;
        }
        if let Some(name) = s.get(j..j + len) {
            return Some(name.to_owned());
        }
    }
    None
}

/// Crates grouped by where they come from, largest first.
pub fn groups(crates: &[(String, usize)]) -> Vec<(&'static str, usize)> {
    const LEPTOS: &[&str] = &[
        "tachys",
        "reactive_graph",
        "reactive_stores",
        "any_spawner",
        "hydration_context",
        "or_poisoned",
        "oco_ref",
        "throw_error",
        "send_wrapper",
        "server_fn",
        "either_of",
        "next_tuple",
    ];
    let group = |c: &str| -> &'static str {
        if c.starts_with("leptos") || LEPTOS.contains(&c) {
            "Leptos and its runtime (leptos*, tachys, reactive_graph, …)"
        } else if [
            "core",
            "alloc",
            "std",
            "dlmalloc",
            "__rustc",
            "compiler_builtins",
        ]
        .contains(&c)
        {
            "Rust standard library (core, alloc, std, allocator)"
        } else if c.starts_with("serde") {
            "serde, serde_json"
        } else if ["wasm_bindgen", "js_sys", "web_sys", "wasm_bindgen_futures"].contains(&c) {
            "wasm-bindgen, js-sys, web-sys"
        } else if c.starts_with("mochat") {
            "this project's crates (mochat_*)"
        } else if c == "[unknown]" {
            "[unknown]"
        } else {
            "other crates"
        }
    };
    let mut out: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (c, n) in crates {
        *out.entry(group(c)).or_default() += n;
    }
    let mut list: Vec<_> = out.into_iter().collect();
    list.sort_by_key(|b| std::cmp::Reverse(b.1));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_of_symbols() {
        assert_eq!(
            crate_of("_ZN7web_sys8features20gen_HtmlInputElement5value17h6E").as_deref(),
            Some("web_sys")
        );
        assert_eq!(
            crate_of("_ZN50_$LT$T$u20$as$u20$core..convert..Into$LT$U$GT$$GT$4into17hE").as_deref(),
            Some("core")
        );
        assert_eq!(
            crate_of("_ZN49_$LT$leptos..View$u20$as$u20$core..fmt..Debug$GT$3fmt17hE").as_deref(),
            Some("leptos")
        );
        assert_eq!(
            crate_of("js_sys::Promise::new::__wbg_new::h61d0").as_deref(),
            Some("js_sys")
        );
        assert_eq!(
            crate_of("_RNvNtCsgXGp5Oqx2Ny_4core3fmt5write").as_deref(),
            Some("core")
        );
        assert_eq!(
            crate_of("_RNvMs0_NtCsjqx8TIyZbP9_8dlmalloc8dlmallocINtB5_8DlmallocE4free").as_deref(),
            Some("dlmalloc")
        );
        assert_eq!(
            crate_of("_RNvCsfLfy6EI15iL_7___rustc13___rdl_realloc").as_deref(),
            Some("__rustc")
        );
        assert_eq!(
            crate_of("<core[c5930c85a12de822]::str::pattern::StrSearcher>::new").as_deref(),
            Some("core")
        );
        assert_eq!(crate_of("memcpy"), None);
        assert_eq!(crate_of("_ZNbroken"), None);
    }

    #[test]
    fn readable_names() {
        assert_eq!(
            readable("mochat_client::api::call::{{closure}}::h84fc007d093fe896"),
            "mochat_client::api::call::{{closure}}"
        );
        assert_eq!(
            readable("<dlmalloc[e24a27700634d609]::Dlmalloc<x[1]>>::malloc"),
            "<dlmalloc::Dlmalloc<x[1]>>::malloc"
        );
        let f = vec![
            ("a::f::h0123456789abcdef".to_owned(), 10),
            ("a::f::hfedcba9876543210".to_owned(), 5),
            ("b::g".to_owned(), 12),
        ];
        assert_eq!(
            by_readable_name(&f),
            vec![("a::f".to_owned(), 15, 2), ("b::g".to_owned(), 12, 1)]
        );
    }

    /// A module with one imported and two defined functions, named.
    fn tiny_module() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // type section: one type () -> ()
        m.extend([1, 4, 1, 0x60, 0, 0]);
        // import section: "m"."f" func type 0
        m.extend([2, 7, 1, 1, b'm', 1, b'f', 0, 0]);
        // function section: two functions of type 0
        m.extend([3, 3, 2, 0, 0]);
        // code section: bodies of 2 and 3 bytes
        m.extend([10, 8, 2, 2, 0, 0x0b, 3, 0, 0x01, 0x0b]);
        // name section: function names 1 → a::x, 2 → b::y
        let names = [
            4, b'n', b'a', b'm', b'e', 1, 13, 2, 1, 4, b'a', b':', b':', b'x', 2, 4, b'b', b':',
            b':', b'y',
        ];
        m.push(0);
        m.push(names.len() as u8);
        m.extend(names);
        m
    }

    #[test]
    fn sections_and_code_by_crate() {
        let m = tiny_module();
        let s = sections(&m);
        assert!(s.contains(&("code".to_owned(), 8)), "{s:?}");
        assert!(s.contains(&("custom:name".to_owned(), 20)), "{s:?}");
        let c = code_by_crate(&m);
        // Each body counts with its size byte's payload: 2 and 3 bytes.
        assert_eq!(c, vec![("b".to_owned(), 3), ("a".to_owned(), 2)]);
        assert!(sections(b"not wasm").is_empty());
    }

    #[test]
    fn crate_groups() {
        let crates = [
            ("tachys".to_owned(), 5),
            ("leptos_dom".to_owned(), 1),
            ("core".to_owned(), 3),
            ("mochat_client".to_owned(), 2),
            ("url".to_owned(), 1),
        ];
        let g = groups(&crates);
        assert_eq!(g[0].1, 6);
        assert!(g[0].0.starts_with("Leptos"));
        assert_eq!(g.iter().map(|(_, n)| n).sum::<usize>(), 12);
    }
}

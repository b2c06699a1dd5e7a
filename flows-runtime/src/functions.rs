//! The helper functions scripts can call (besides Rhai's own string, array, map and math ones).
//!
//! Every function is pure, synchronous and fallible: bad input is a Rhai runtime error with a
//! clear message, never a panic. `respond`, `fail` and the step plumbing live in `run`.

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rhai::{Blob, Dynamic, Engine, EvalAltResult, ImmutableString, INT};
use sha2::{Digest, Sha256};

use crate::body::{percent_decode, percent_encode};
use crate::convert::{array_of, array_to_json, map_to_json, to_bytes, to_dynamic, to_json};
use crate::jsonpath::JsonPathExpr;

type Res<T> = Result<T, Box<EvalAltResult>>;

fn err<T>(message: impl Into<String>) -> Res<T> {
    Err(message.into().into())
}

fn utf8(bytes: Vec<u8>, what: &str) -> Res<ImmutableString> {
    String::from_utf8(bytes).map(Into::into).or_else(|_| {
        err(format!(
            "{what}: the decoded bytes are not UTF-8 text (use the _blob variant)"
        ))
    })
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn hmac_sha256(key: &Dynamic, msg: &Dynamic, what: &str) -> Res<Vec<u8>> {
    let key = to_bytes(key, &format!("{what}: the key"))?;
    let msg = to_bytes(msg, &format!("{what}: the message"))?;
    let mut mac = match Hmac::<Sha256>::new_from_slice(&key) {
        Ok(m) => m,
        Err(e) => return err(format!("{what}: {e}")),
    };
    mac.update(&msg);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Selects with a JSONPath expression: no match is `()`, one match the value, more an array.
pub(crate) fn select_result(matches: Vec<&serde_json::Value>) -> Dynamic {
    match matches.as_slice() {
        [] => Dynamic::UNIT,
        [one] => to_dynamic(one),
        _ => array_of(matches),
    }
}

/// Registers the helper functions on an engine.
pub(crate) fn register(engine: &mut Engine) {
    // Time.
    engine.register_fn("now_iso", || -> ImmutableString {
        Utc::now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
            .into()
    });
    engine.register_fn("now_unix", || -> INT { Utc::now().timestamp() });
    engine.register_fn("now_unix_ms", || -> INT { Utc::now().timestamp_millis() });
    engine.register_fn("parse_time", |s: ImmutableString| -> Res<INT> {
        match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => Ok(t.timestamp()),
            Err(e) => err(format!(
                "parse_time: `{s}` is not an RFC 3339 time such as 2019-01-01T00:00:00Z ({e})"
            )),
        }
    });
    engine.register_fn("format_unix", |secs: INT| -> Res<ImmutableString> {
        match DateTime::<Utc>::from_timestamp(secs, 0) {
            Some(t) => Ok(t.to_rfc3339_opts(SecondsFormat::Secs, true).into()),
            None => err(format!("format_unix: {secs} is out of range")),
        }
    });

    // Encodings.
    engine.register_fn("base64_encode", |v: Dynamic| -> Res<ImmutableString> {
        Ok(b64()
            .encode(to_bytes(&v, "base64_encode: the value")?)
            .into())
    });
    engine.register_fn("base64_decode_blob", |s: ImmutableString| -> Res<Blob> {
        b64()
            .decode(s.trim())
            .or_else(|e| err(format!("base64_decode_blob: not valid base64 ({e})")))
    });
    engine.register_fn(
        "base64_decode",
        |s: ImmutableString| -> Res<ImmutableString> {
            match b64().decode(s.trim()) {
                Ok(bytes) => utf8(bytes, "base64_decode"),
                Err(e) => err(format!("base64_decode: not valid base64 ({e})")),
            }
        },
    );
    engine.register_fn("hex_encode", |v: Dynamic| -> Res<ImmutableString> {
        Ok(hex::encode(to_bytes(&v, "hex_encode: the value")?).into())
    });
    engine.register_fn("hex_decode_blob", |s: ImmutableString| -> Res<Blob> {
        hex::decode(s.trim()).or_else(|e| err(format!("hex_decode_blob: not valid hex ({e})")))
    });
    engine.register_fn("hex_decode", |s: ImmutableString| -> Res<ImmutableString> {
        match hex::decode(s.trim()) {
            Ok(bytes) => utf8(bytes, "hex_decode"),
            Err(e) => err(format!("hex_decode: not valid hex ({e})")),
        }
    });
    engine.register_fn("url_encode", |s: ImmutableString| -> ImmutableString {
        percent_encode(s.as_bytes()).into()
    });
    engine.register_fn("url_decode", |s: ImmutableString| -> Res<ImmutableString> {
        match percent_decode(&s, false, true) {
            Some(d) => Ok(d.into()),
            None => err("url_decode: malformed %-escape or not UTF-8 once decoded"),
        }
    });

    // Hashes and signatures.
    engine.register_fn("sha256_hex", |v: Dynamic| -> Res<ImmutableString> {
        let bytes = to_bytes(&v, "sha256_hex: the value")?;
        Ok(hex::encode(Sha256::digest(&bytes)).into())
    });
    engine.register_fn(
        "hmac_sha256_hex",
        |key: Dynamic, msg: Dynamic| -> Res<ImmutableString> {
            Ok(hex::encode(hmac_sha256(&key, &msg, "hmac_sha256_hex")?).into())
        },
    );
    engine.register_fn(
        "hmac_sha256_base64",
        |key: Dynamic, msg: Dynamic| -> Res<ImmutableString> {
            Ok(b64()
                .encode(hmac_sha256(&key, &msg, "hmac_sha256_base64")?)
                .into())
        },
    );
    engine.register_fn("secure_eq", |a: Dynamic, b: Dynamic| -> Res<bool> {
        let a = to_bytes(&a, "secure_eq: the first value")?;
        let b = to_bytes(&b, "secure_eq: the second value")?;
        Ok(a.len() == b.len() && a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0)
    });
    engine.register_fn("uuid", || -> ImmutableString {
        uuid::Uuid::new_v4().to_string().into()
    });
    engine.register_fn("uuid_v7", || -> ImmutableString {
        uuid::Uuid::now_v7().to_string().into()
    });

    // JSON.
    // Also for maps and arrays by type: an exact match is found before Rhai's own map `to_json`
    // (which writes chars as 'c').
    fn json_text(j: Result<serde_json::Value, String>) -> Res<ImmutableString> {
        match j {
            Ok(j) => Ok(j.to_string().into()),
            Err(e) => err(format!("to_json: {e}")),
        }
    }
    engine.register_fn("to_json", |v: Dynamic| json_text(to_json(&v)));
    engine.register_fn("to_json", |m: &mut rhai::Map| json_text(map_to_json(m, 0)));
    engine.register_fn("to_json", |a: &mut rhai::Array| {
        json_text(array_to_json(a, 0))
    });
    engine.register_fn("parse_json", |s: ImmutableString| -> Res<Dynamic> {
        match serde_json::from_str::<serde_json::Value>(&s) {
            Ok(v) => Ok(to_dynamic(&v)),
            Err(e) => err(format!("parse_json: not valid JSON ({e})")),
        }
    });
    engine.register_fn(
        "jsonpath",
        |v: Dynamic, expr: ImmutableString| -> Res<Dynamic> {
            // The JSONPath parser measures the stack left (through stacker), which reads wrong on a
            // run's own stack; on a small fresh stack it reads right.
            let path = stacker::maybe_grow(256 * 1024, 1024 * 1024, || JsonPathExpr::parse(&expr))
                .or_else(|e| err(format!("jsonpath: {e}")))?;
            let json = to_json(&v).or_else(|e| err(format!("jsonpath: {e}")))?;
            let found = path
                .select(&json)
                .or_else(|e| err(format!("jsonpath: {e}")))?;
            Ok(select_result(found))
        },
    );
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use serde_json::json;

    use crate::model::Step;
    use crate::{Body, FlowResult, Input, Limits, ResponseBody, Runtime};

    /// Evaluates a Rhai expression in a flow and gives back what it answers (or the error text).
    fn eval(expr: &str) -> Result<ResponseBody, String> {
        run_steps(json!([{"type": "respond", "body_expr": expr}]))
    }

    fn run_steps(doc: serde_json::Value) -> Result<ResponseBody, String> {
        let steps: Vec<Step> = serde_json::from_value(doc).unwrap();
        let rt = Runtime::new(Limits::default());
        let flow = rt.compile(&steps).map_err(|e| format!("{e:?}"))?;
        let input = Input {
            method: "POST".into(),
            path: "/t/x".into(),
            query: Default::default(),
            headers: Default::default(),
            body: Body::Empty,
            caller: None,
            execution_id: None,
        };
        match rt.execute(&flow, &input).result {
            FlowResult::Responded { body, .. } => Ok(body),
            FlowResult::Error(e) => Err(e.to_string()),
            other => Err(format!("{other:?}")),
        }
    }

    fn text(expr: &str) -> String {
        match eval(expr) {
            Ok(ResponseBody::Text(t)) => t,
            other => panic!("{expr}: {other:?}"),
        }
    }

    fn json_of(expr: &str) -> serde_json::Value {
        match eval(expr) {
            Ok(ResponseBody::Json(v)) => v,
            Ok(ResponseBody::Empty) => serde_json::Value::Null,
            other => panic!("{expr}: {other:?}"),
        }
    }

    fn fails(expr: &str, needle: &str) {
        match eval(expr) {
            Err(e) => assert!(e.contains(needle), "{expr}: {e}"),
            other => panic!("{expr} should fail: {other:?}"),
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 1: a 20-byte key of 0x0b, given as a BLOB.
        assert_eq!(
            text(
                r#"hmac_sha256_hex(hex_decode_blob("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), "Hi There")"#
            ),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2: "Jefe".
        let tc2 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            text(r#"hmac_sha256_hex("Jefe", "what do ya want for nothing?")"#),
            tc2
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(tc2).unwrap());
        assert_eq!(
            text(r#"hmac_sha256_base64("Jefe", "what do ya want for nothing?")"#),
            b64
        );
        fails(
            r#"hmac_sha256_hex(42, "x")"#,
            "hmac_sha256_hex: the key must be a string or a BLOB, not i64",
        );
    }

    #[test]
    fn hashes_and_encodings() {
        assert_eq!(
            text(r#"sha256_hex("abc")"#),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(text(r#"base64_encode("hello?")"#), "aGVsbG8/");
        assert_eq!(text(r#"base64_decode("aGVsbG8/")"#), "hello?");
        assert_eq!(
            eval(r#"base64_decode_blob("AAH/")"#),
            Ok(ResponseBody::Binary(vec![0, 1, 255]))
        );
        assert_eq!(text(r#"base64_encode(base64_decode_blob("AAH/"))"#), "AAH/");
        fails(
            r#"base64_decode("not base64!")"#,
            "base64_decode: not valid base64",
        );
        fails(r#"base64_decode("AAH/")"#, "not UTF-8");
        assert_eq!(text(r#"hex_encode("hi")"#), "6869");
        assert_eq!(text(r#"hex_decode("6869")"#), "hi");
        assert_eq!(
            eval(r#"hex_decode_blob("00ff")"#),
            Ok(ResponseBody::Binary(vec![0, 255]))
        );
        fails(r#"hex_decode("zz")"#, "hex_decode: not valid hex");
        assert_eq!(text(r#"url_encode("a b&c=é")"#), "a%20b%26c%3D%C3%A9");
        assert_eq!(text(r#"url_decode("a%20b+c%C3%A9")"#), "a b+cé");
        fails(r#"url_decode("%zz")"#, "url_decode");
        assert_eq!(json_of(r#"secure_eq("abc", "abc")"#), json!(true));
        assert_eq!(json_of(r#"secure_eq("abc", "abd")"#), json!(false));
        assert_eq!(json_of(r#"secure_eq("abc", "ab")"#), json!(false));
    }

    #[test]
    fn time_helpers() {
        assert_eq!(
            json_of(r#"parse_time("2019-01-01T00:00:00Z")"#),
            json!(1_546_300_800)
        );
        assert_eq!(
            json_of(r#"parse_time("2019-01-01T02:00:00+02:00")"#),
            json!(1_546_300_800)
        );
        assert_eq!(text("format_unix(1546300800)"), "2019-01-01T00:00:00Z");
        fails(
            r#"parse_time("yesterday")"#,
            "parse_time: `yesterday` is not an RFC 3339 time",
        );
        fails("format_unix(9223372036854775807)", "out of range");
        let iso = text("now_iso()");
        assert!(iso.len() == 24 && iso.ends_with('Z'), "{iso}");
        assert_eq!(
            json_of("(parse_time(now_iso()) - now_unix()).abs() <= 1"),
            json!(true)
        );
        assert_eq!(
            json_of("(now_unix_ms() / 1000 - now_unix()).abs() <= 1"),
            json!(true)
        );
    }

    #[test]
    fn uuids() {
        let u = text("uuid()");
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert_eq!(json_of("uuid() != uuid()"), json!(true));
        assert_eq!(text("uuid_v7()").as_bytes()[14], b'7');
    }

    #[test]
    fn json_helpers_and_jsonpath() {
        assert_eq!(
            text(r#"to_json(#{a: [1, "x", ()], b: 'c'})"#),
            r#"{"a":[1,"x",null],"b":"c"}"#
        );
        // Method style on a variable leaves the variable as it was.
        let code = r#"let m = #{b: 'c'}; let a = ['d']; respond(200, m.to_json() + a.to_json() + to_json(m) + to_json(a));"#;
        assert_eq!(
            run_steps(json!([{"type": "script", "code": code}])),
            Ok(ResponseBody::Text(r#"{"b":"c"}["d"]{"b":"c"}["d"]"#.into()))
        );
        assert_eq!(
            json_of(r#"parse_json("{\"a\": [1, 2.5, null]}")"#),
            json!({"a": [1, 2.5, null]})
        );
        fails(r#"parse_json("{")"#, "parse_json: not valid JSON");
        fails("to_json(|x| x)", "to_json: a value of type");
        let doc = r#"parse_json("{\"items\": [{\"t\": \"a\"}, {\"t\": \"b\"}]}")"#;
        assert_eq!(
            json_of(&format!(r#"jsonpath({doc}, "$.items[*].t")"#)),
            json!(["a", "b"])
        );
        assert_eq!(text(&format!(r#"jsonpath({doc}, "$.items[1].t")"#)), "b");
        assert_eq!(
            json_of(&format!(r#"jsonpath({doc}, "$.nothing")"#)),
            serde_json::Value::Null
        );
        fails(
            &format!(r#"jsonpath({doc}, "$[?(")"#),
            "jsonpath: invalid JSONPath",
        );
    }

    #[test]
    fn errors_are_ordinary_catchable_errors() {
        let code = r#"let r = "none"; try { base64_decode("!!"); } catch (e) { r = "caught: " + e; } respond(200, r);"#;
        match run_steps(json!([{"type": "script", "code": code}])) {
            Ok(ResponseBody::Text(t)) => assert!(
                t.starts_with("caught: base64_decode: not valid base64"),
                "{t}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rhai_string_functions_are_there_and_dangerous_ones_are_not() {
        let code = r#"let s = "  Hi There "; s.trim(); let r = "x-y"; r.replace("-", "+");
            respond(200, [s.to_upper(), s.to_lower(), "a,b,c".split(",").len(), "abc".contains("b"), "hello".sub_string(1, 3), r, s.len(), `${s}!`]);"#;
        match run_steps(json!([{"type": "script", "code": code}])) {
            Ok(ResponseBody::Json(v)) => assert_eq!(
                v,
                json!([
                    "HI THERE",
                    "hi there",
                    3,
                    true,
                    "ell",
                    "x+y",
                    8,
                    "Hi There!"
                ])
            ),
            other => panic!("{other:?}"),
        }
        fails("sleep(10)", "Function not found: sleep");
        fails("exit()", "Function not found: exit");
    }
}

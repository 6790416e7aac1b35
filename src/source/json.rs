//! JSON (with comments, as Docker tolerates them poorly but users write them) with byte
//! ranges, through `jsonc-parser`.

pub use jsonc_parser::ast::{Array, Object, ObjectProp, Value};

/// A JSON parse error with its byte offset.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct JsonError {
    /// What is wrong.
    pub message: String,
    /// Byte offset.
    pub offset: usize,
}

/// Parse to an AST with ranges.
pub fn parse(src: &str) -> Result<Option<Value<'_>>, JsonError> {
    let text = src.strip_prefix('\u{feff}').unwrap_or(src);
    let shift = src.len() - text.len();
    let opts = jsonc_parser::ParseOptions::default();
    let collect = jsonc_parser::CollectOptions::default();
    match jsonc_parser::parse_to_ast(text, &collect, &opts) {
        Ok(r) => Ok(r
            .value
            .map(|v| if shift == 0 { v } else { shift_value(v, shift) })),
        Err(e) => Err(JsonError {
            message: e.kind().to_string(),
            offset: e.range().start + shift,
        }),
    }
}

fn shift_value(v: Value<'_>, by: usize) -> Value<'_> {
    // A BOM only ever precedes the whole document: shifting ranges keeps offsets file-relative.
    match v {
        Value::Object(mut o) => {
            o.range.start += by;
            o.range.end += by;
            o.properties = o
                .properties
                .into_iter()
                .map(|mut p| {
                    p.range.start += by;
                    p.range.end += by;
                    p.value = shift_value(p.value, by);
                    p
                })
                .collect();
            Value::Object(o)
        }
        Value::Array(mut a) => {
            a.range.start += by;
            a.range.end += by;
            a.elements = a.elements.into_iter().map(|e| shift_value(e, by)).collect();
            Value::Array(a)
        }
        Value::StringLit(mut s) => {
            s.range.start += by;
            s.range.end += by;
            Value::StringLit(s)
        }
        other => other,
    }
}

/// A property of an object by name.
pub fn prop<'a, 'b>(o: &'b Object<'a>, name: &str) -> Option<&'b ObjectProp<'a>> {
    o.properties.iter().find(|p| p.name.as_str() == name)
}

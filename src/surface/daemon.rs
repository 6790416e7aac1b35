//! Docker `daemon.json`: `hosts` with `tcp://` and no `tlsverify`, `userns-remap`, `runtimes`.
//! The daemon is a pipeline named `dockerd`.

use crate::finding::{DiagLevel, Diagnostic, Surface};
use crate::model::{Pipeline, Signal};
use crate::source::json::{self, Value};
use crate::source::{FileId, Loc, SourceFile, Span};

/// Facts about a daemon configuration beyond findings (used by reports).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonInfo {
    /// `tlsverify: true`.
    pub tlsverify: bool,
    /// `userns-remap` set.
    pub userns_remap: bool,
    /// A `sysbox-runc` runtime is registered.
    pub sysbox_runtime: bool,
}

/// Read the facts of a daemon.json.
pub fn info(text: &str) -> Option<DaemonInfo> {
    let Ok(Some(Value::Object(o))) = json::parse(text) else {
        return None;
    };
    let b = |name: &str| matches!(json::prop(&o, name).map(|p| &p.value), Some(Value::BooleanLit(b)) if b.value);
    Some(DaemonInfo {
        tlsverify: b("tlsverify"),
        userns_remap: json::prop(&o, "userns-remap").is_some(),
        sysbox_runtime: match json::prop(&o, "runtimes").map(|p| &p.value) {
            Some(Value::Object(r)) => json::prop(r, "sysbox-runc").is_some(),
            _ => false,
        },
    })
}

/// Lower a daemon.json.
pub fn lower(sf: &SourceFile, file: FileId, diags: &mut Vec<Diagnostic>) -> Vec<Pipeline> {
    let v = match json::parse(&sf.text) {
        Ok(Some(v)) => v,
        Ok(None) => return Vec::new(),
        Err(e) => {
            diags.push(super::diag_at(
                sf,
                e.offset,
                DiagLevel::Error,
                format!("invalid JSON: {}", e.message),
            ));
            return Vec::new();
        }
    };
    let Value::Object(o) = &v else {
        return Vec::new();
    };
    let mut p = Pipeline::new(
        "dockerd",
        Surface::DaemonJson,
        Loc::new(file, Span::new(o.range.start, o.range.start)),
    );
    let tlsverify = matches!(json::prop(o, "tlsverify").map(|p| &p.value), Some(Value::BooleanLit(b)) if b.value);
    if json::prop(o, "userns-remap").is_none() {
        diags.push(super::diag_at(
            sf,
            o.range.start,
            DiagLevel::Note,
            "no `userns-remap`: root in a container is root on this host (see `depriv explain privileged-dind`)",
        ));
    }
    if let Some(rt) = json::prop(o, "runtimes")
        && let Value::Object(r) = &rt.value
        && let Some(sb) = json::prop(r, "sysbox-runc")
    {
        diags.push(super::diag_at(
            sf,
            sb.range.start,
            DiagLevel::Note,
            "the `sysbox-runc` runtime is registered: the sysbox target is available on this host",
        ));
    }
    if let Some(hosts) = json::prop(o, "hosts")
        && let Value::Array(a) = &hosts.value
        && !tlsverify
    {
        let mut last_line = 0;
        for el in &a.elements {
            if let Value::StringLit(s) = el
                && s.value.trim().starts_with("tcp://")
            {
                let line = sf.line_col(s.range.start).line;
                if line != last_line {
                    p.signals.push(Signal::PlaintextDaemon(Loc::new(
                        file,
                        Span::new(s.range.start, s.range.end),
                    )));
                }
                last_line = line;
            }
        }
    }
    vec![p]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_reads_runtime_and_remap() {
        let i = info(
            r#"{"userns-remap":"default","runtimes":{"sysbox-runc":{"path":"/usr/bin/sysbox-runc"}}}"#,
        );
        assert_eq!(
            i,
            Some(DaemonInfo {
                tlsverify: false,
                userns_remap: true,
                sysbox_runtime: true
            })
        );
    }
}

//! The YAML span tree: parsing never panics, every span lies inside the text on character
//! boundaries, and the tree's helpers (merge resolution, lookups, offset mapping) stay total.
#![no_main]

use depriv::source::yaml::{NodeId, NodeKind, Yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(y) = Yaml::parse(src) else {
        return;
    };
    let n = y.node_count().min(5_000);
    for id in 0..n as NodeId {
        let node = y.node(id);
        let span = y.span(id);
        assert!(
            span.start <= span.end && span.end <= src.len(),
            "span {span:?}"
        );
        assert!(src.is_char_boundary(span.start) && src.is_char_boundary(span.end));
        if let NodeKind::Scalar(s) = &node.kind {
            let c = &s.content_span;
            assert!(c.start <= c.end && c.end <= src.len(), "content {c:?}");
            for off in [0, 1, s.value.len() / 2, s.value.len()] {
                let at = y.scalar_src_offset(id, off);
                assert!(at <= src.len() && src.is_char_boundary(at), "offset {at}");
            }
        }
        let _ = y.entries(id);
        let _ = y.get(id, "services");
        let _ = y.str(id);
        let _ = y.is_null(id);
        let _ = y.as_bool(id);
    }
    for r in y.duplicate_keys() {
        assert!(r.end <= src.len());
    }
});

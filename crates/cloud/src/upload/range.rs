//! Byte ranges as upload and download URLs speak them: `Content-Range` on upload PUTs, the set
//! of bytes a session holds, and the `Range` header on downloads.

use crate::odata::GraphError;
use printlab_graph::IntegerRange;

/// One `Content-Range: bytes a-b/total` header, end inclusive as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub total: u64,
}

impl ContentRange {
    /// Parses the header value. Besides the RFC 9110 form it accepts `bytes=a-b/total`, because
    /// one of Microsoft's own print upload examples writes it that way.
    pub fn parse(value: &str) -> Result<Self, GraphError> {
        let bad = |why: &str| {
            GraphError::bad_request(format!(
                "Content-Range header {value:?}: {why}; expected `bytes first-last/total`."
            ))
        };
        let spec = value
            .trim()
            .strip_prefix("bytes")
            .ok_or_else(|| bad("it does not start with `bytes`"))?;
        let spec = spec
            .strip_prefix(' ')
            .or_else(|| spec.strip_prefix('='))
            .ok_or_else(|| bad("`bytes` is not followed by a space"))?
            .trim_start();
        let (span, total) = spec.split_once('/').ok_or_else(|| bad("no `/total`"))?;
        let (first, last) = span.split_once('-').ok_or_else(|| bad("no `first-last`"))?;
        let number = |text: &str, what: &str| {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!(
                    "{what} {text:?} is not a decimal byte offset"
                )));
            }
            text.parse::<u64>()
                .map_err(|_| bad(&format!("{what} {text:?} is too large")))
        };
        let range = ContentRange {
            first: number(first, "first byte")?,
            last: number(last, "last byte")?,
            total: number(total, "total")?,
        };
        if range.first > range.last {
            return Err(bad("the first byte is after the last"));
        }
        if range.last >= range.total {
            return Err(bad("the last byte is beyond the total"));
        }
        Ok(range)
    }

    /// Number of bytes the range covers (never 0: `first <= last`).
    pub fn length(&self) -> u64 {
        self.last - self.first + 1
    }

    /// The half-open span `[first, last + 1)`.
    pub fn span(&self) -> Span {
        Span {
            start: self.first,
            end: self.last + 1,
        }
    }
}

/// A half-open byte span `[start, end)`; half-open internally so that adjacency is `a.end ==
/// b.start` and empty spans are impossible to confuse with one-byte ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A set of byte spans kept sorted, disjoint and coalesced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanSet {
    spans: Vec<Span>,
}

impl SpanSet {
    /// Adds a span, merging it with neighbours it touches or overlaps.
    pub fn insert(&mut self, span: Span) {
        if span.start >= span.end {
            return;
        }
        let mut merged = span;
        let mut kept = Vec::with_capacity(self.spans.len() + 1);
        for s in self.spans.drain(..) {
            if s.end < merged.start || merged.end < s.start {
                kept.push(s);
            } else {
                merged.start = merged.start.min(s.start);
                merged.end = merged.end.max(s.end);
            }
        }
        kept.push(merged);
        kept.sort();
        self.spans = kept;
    }

    pub fn overlaps(&self, span: &Span) -> bool {
        self.spans.iter().any(|s| s.overlaps(span))
    }

    /// Where the stored bytes that run on from `from` end: `from` itself when the byte at
    /// `from` is not stored.
    pub fn contiguous_end(&self, from: u64) -> u64 {
        self.spans
            .iter()
            .find(|s| s.start <= from && from < s.end)
            .map_or(from, |s| s.end)
    }

    /// Total bytes covered.
    #[cfg(test)]
    pub fn covered(&self) -> u64 {
        self.spans.iter().map(|s| s.end - s.start).sum()
    }

    /// The gaps in `[0, total)`, in order.
    pub fn missing(&self, total: u64) -> Vec<Span> {
        let mut gaps = Vec::new();
        let mut cursor = 0;
        for s in &self.spans {
            if s.start > cursor {
                gaps.push(Span {
                    start: cursor,
                    end: s.start.min(total),
                });
            }
            cursor = cursor.max(s.end);
        }
        if cursor < total {
            gaps.push(Span {
                start: cursor,
                end: total,
            });
        }
        gaps
    }
}

/// Gaps as v1.0 `nextExpectedRanges` strings: `"start-end"`, end inclusive.
pub fn next_expected_ranges(gaps: &[Span]) -> Vec<String> {
    gaps.iter()
        .map(|g| format!("{}-{}", g.start, g.end - 1))
        .collect()
}

/// Gaps as the 2020 beta design's `integerRange` objects, end inclusive.
pub fn integer_ranges(gaps: &[Span]) -> Vec<IntegerRange> {
    gaps.iter()
        .map(|g| IntegerRange {
            start: g.start as i64,
            end: (g.end - 1) as i64,
        })
        .collect()
}

/// What a download's `Range` header asks for, resolved against the document size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No header, or one we answer with the whole body (several ranges, other units), which RFC
    /// 9110 §14.2 allows a server to do.
    Whole,
    /// One satisfiable range.
    Part(Span),
    /// A syntactically valid range that lies outside the document: 416.
    Unsatisfiable,
}

impl RangeRequest {
    /// Resolves a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) for a document of `size`
    /// bytes. Malformed headers are ignored, as RFC 9110 requires.
    pub fn resolve(header: Option<&str>, size: u64) -> Self {
        let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
            return RangeRequest::Whole;
        };
        if spec.contains(',') {
            return RangeRequest::Whole;
        }
        let Some((first, last)) = spec.trim().split_once('-') else {
            return RangeRequest::Whole;
        };
        let parse = |t: &str| t.trim().parse::<u64>().ok();
        match (first.trim().is_empty(), last.trim().is_empty()) {
            (true, true) => RangeRequest::Whole,
            (true, false) => match parse(last) {
                None => RangeRequest::Whole,
                Some(0) => RangeRequest::Unsatisfiable,
                Some(_) if size == 0 => RangeRequest::Unsatisfiable,
                Some(n) => RangeRequest::Part(Span {
                    start: size.saturating_sub(n),
                    end: size,
                }),
            },
            (false, open_end) => {
                let Some(start) = parse(first) else {
                    return RangeRequest::Whole;
                };
                let end = if open_end {
                    size
                } else {
                    match parse(last) {
                        Some(l) if l >= start => l.saturating_add(1).min(size),
                        _ => return RangeRequest::Whole,
                    }
                };
                if start >= size {
                    RangeRequest::Unsatisfiable
                } else {
                    RangeRequest::Part(Span { start, end })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_range_accepts_both_separators() {
        let r = ContentRange::parse("bytes 0-72796/4533322").unwrap();
        assert_eq!(
            (r.first, r.last, r.total, r.length()),
            (0, 72796, 4533322, 72797)
        );
        assert_eq!(ContentRange::parse("bytes=5-9/10").unwrap().length(), 5);
    }

    #[test]
    fn content_range_rejects_hostile_values_with_a_named_reason() {
        for (value, why) in [
            ("bytes 9-5/10", "first byte is after"),
            ("bytes 0-10/10", "beyond the total"),
            ("bytes 0-1/*", "total \"*\""),
            ("bytes -1-5/10", "first byte \"\""),
            ("items 0-1/2", "does not start"),
            ("bytes 0-99999999999999999999999/1", "too large"),
            ("bytes 0-1", "no `/total`"),
            ("bytes +1-2/3", "not a decimal"),
        ] {
            let err = ContentRange::parse(value).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(err.message.contains(why), "{value}: {}", err.message);
        }
    }

    #[test]
    fn span_set_reports_gaps_inclusive() {
        let mut set = SpanSet::default();
        set.insert(Span { start: 10, end: 20 });
        set.insert(Span { start: 30, end: 40 });
        assert_eq!(
            next_expected_ranges(&set.missing(50)),
            ["0-9", "20-29", "40-49"]
        );
        set.insert(Span { start: 20, end: 30 });
        assert_eq!(set.missing(40), [Span { start: 0, end: 10 }]);
        assert_eq!(set.covered(), 30);
        assert_eq!(
            integer_ranges(&set.missing(40)),
            [IntegerRange { start: 0, end: 9 }]
        );
    }

    #[test]
    fn download_ranges_resolve_like_rfc_9110() {
        let part = |s, e| RangeRequest::Part(Span { start: s, end: e });
        assert_eq!(RangeRequest::resolve(None, 100), RangeRequest::Whole);
        assert_eq!(RangeRequest::resolve(Some("bytes=0-9"), 100), part(0, 10));
        assert_eq!(RangeRequest::resolve(Some("bytes=90-"), 100), part(90, 100));
        assert_eq!(RangeRequest::resolve(Some("bytes=-5"), 100), part(95, 100));
        assert_eq!(RangeRequest::resolve(Some("bytes=-500"), 100), part(0, 100));
        assert_eq!(
            RangeRequest::resolve(Some("bytes=50-999"), 100),
            part(50, 100)
        );
        assert_eq!(
            RangeRequest::resolve(Some("bytes=100-"), 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(
            RangeRequest::resolve(Some("bytes=0-1,5-6"), 100),
            RangeRequest::Whole
        );
        assert_eq!(
            RangeRequest::resolve(Some("bytes=x-"), 100),
            RangeRequest::Whole
        );
    }

    proptest! {
        /// Whatever order spans arrive in, the set stays coalesced and its gaps plus its
        /// coverage account for every byte exactly once.
        #[test]
        fn gaps_and_coverage_partition_the_document(
            cuts in proptest::collection::vec((0u64..1000, 1u64..50), 0..30)
        ) {
            let total = 1100;
            let mut set = SpanSet::default();
            let mut truth = vec![false; total as usize];
            for (start, len) in cuts {
                set.insert(Span { start, end: start + len });
                for b in start..start + len { truth[b as usize] = true; }
            }
            let gaps = set.missing(total);
            let gap_bytes: u64 = gaps.iter().map(|g| g.end - g.start).sum();
            prop_assert_eq!(gap_bytes + set.covered(), total);
            for g in &gaps {
                for b in g.start..g.end { prop_assert!(!truth[b as usize]); }
            }
            prop_assert_eq!(set.covered(), truth.iter().filter(|t| **t).count() as u64);
        }
    }
}

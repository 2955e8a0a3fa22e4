//! Reading `printers.toml` into its typed form while reporting every mistake of syntax and type,
//! not only the first: serde stops at the first value it cannot take, so after each one the
//! offending entry is taken out of the parsed document and the document is read again.

use super::Issues;
use serde::de::DeserializeOwned;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// Every syntax error (the parser recovers and goes on), else every key or value serde refuses;
/// `None` when there was any. A mistake that only follows from an entry taken out (a required
/// key now missing) is not reported: the entry's own mistake already is.
pub(super) fn read_typed<T: DeserializeOwned>(text: &str, issues: &mut Issues) -> Option<T> {
    let (mut document, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            issues.push(e.span().unwrap_or(0..0), e.message().trim_end().to_string());
        }
        return None;
    }
    let root = document.span();
    let mut emptied: Vec<Range<usize>> = Vec::new();
    let mut refused = 0;
    loop {
        let error = match T::deserialize(toml::de::Deserializer::from(document.clone())) {
            Ok(typed) if refused == 0 => return Some(typed),
            Ok(_) => return None,
            Err(error) => error,
        };
        let span = error.span().unwrap_or(0..0);
        if !emptied.contains(&span) {
            refused += 1;
            issues.push(span.clone(), error.message().trim_end().to_string());
        }
        match take_out_of_table(document.get_mut(), root.clone(), &span) {
            Some(container) => emptied.push(container),
            None => return None,
        }
    }
}

/// Takes the key or value of `table` (spanning `table_span`), at any depth, whose span is `span`
/// out of the document; gives the span of the table or array it was taken from, `None` if no
/// entry has that span. Spans are searched exactly rather than by nesting, because a table
/// written as `[section]` or `[[array]]` spans only its header.
fn take_out_of_table(
    table: &mut DeTable<'_>,
    table_span: Range<usize>,
    span: &Range<usize>,
) -> Option<Range<usize>> {
    let exact = table
        .iter()
        .find(|(k, v)| k.span() == *span || v.span() == *span)
        .map(|(k, _)| k.clone());
    if let Some(key) = exact {
        table.remove(&key);
        return Some(table_span);
    }
    table
        .iter_mut()
        .find_map(|(_, value)| take_out_of_value(value, span))
}

/// [`take_out_of_table`] for an array's elements.
fn take_out_of_array(
    array: &mut DeArray<'_>,
    array_span: Range<usize>,
    span: &Range<usize>,
) -> Option<Range<usize>> {
    match array.iter().position(|v| v.span() == *span) {
        Some(index) => {
            let rest: DeArray<'_> = std::mem::replace(array, DeArray::new())
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| (i != index).then_some(v))
                .collect();
            *array = rest;
            Some(array_span)
        }
        None => array
            .as_mut()
            .iter_mut()
            .find_map(|value| take_out_of_value(value, span)),
    }
}

fn take_out_of_value(
    value: &mut Spanned<DeValue<'_>>,
    span: &Range<usize>,
) -> Option<Range<usize>> {
    let value_span = value.span();
    match value.get_mut() {
        DeValue::Table(inner) => take_out_of_table(inner, value_span, span),
        DeValue::Array(inner) => take_out_of_array(inner, value_span, span),
        _ => None,
    }
}

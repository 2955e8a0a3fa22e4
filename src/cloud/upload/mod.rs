//! Upload sessions and document bytes.

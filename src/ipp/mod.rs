//! (filled in by the ipp work)

//! (filled in by the render work)

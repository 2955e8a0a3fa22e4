//! The Microsoft Graph print resources, as the v1.0 metadata names them.
//!
//! These types are the client-side wire model shared by the cloud (which serves them), the CLI's
//! Graph client (which reads them) and the device mapping (which fills them from IPP attributes).
//! Property names, nullability and enum members follow the v1.0 CSDL exactly, because unmodified
//! Graph SDK clients are generated from it: a renamed field or an extra enum member breaks them.

mod enums;
mod media;
mod resources;
pub mod rules;

pub use enums::*;
pub use media::*;
pub use resources::*;

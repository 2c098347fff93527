//! What Ringside asks of a PBX, independent of the vendor.

use serde::{Deserialize, Serialize};

use crate::Result;

/// One extension of the PBX (an agent's phone, an IVR...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Extension {
    pub extension: String,
    pub name: Option<String>,
}

/// Call control through the PBX's requests API.
///
/// Implementations map every vendor error to the shared [`crate::ErrorKind`]s.
/// A dial is never retried automatically (it would ring the customer twice).
#[async_trait::async_trait]
pub trait PbxControl: Send + Sync + 'static {
    /// Ring `extension` and, when it answers, call `destination`.
    /// `external_call_id` comes back on every event of that call.
    async fn dial(&self, extension: &str, destination: &str, external_call_id: &str) -> Result<()>;
    /// Drop the leg `leg_call_id` (the provider's `callId` of the current leg).
    async fn hang_up(&self, leg_call_id: &str) -> Result<()>;
    /// Cold-transfer the leg to an extension or number.
    async fn transfer(&self, leg_call_id: &str, destination: &str) -> Result<()>;
    /// The PBX's extensions with names, for the agent directory and transfer picker.
    async fn extensions(&self) -> Result<Vec<Extension>>;
}

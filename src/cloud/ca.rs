//! The cloud's own certificate authority: it signs the CSR a client sends with
//! `printers/create`, as Universal Print issues each registered printer a device certificate.
//! The CA key and certificate live in the store so certificates stay verifiable across restarts.

use super::odata::GraphError;
use super::store::{Store, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};

const CA_KEY: &str = "ca-key-pem";
const CA_CERT: &str = "ca-cert-pem";

/// Why the CA could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("certificate authority: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("the stored CA record `{0}` is not UTF-8 PEM")]
    NotPem(&'static str),
}

pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl CertificateAuthority {
    /// Loads the CA from the store, creating and storing one on first use.
    pub fn load_or_create(store: &Store) -> Result<Self, CaError> {
        if let (Some(key), Some(cert)) = (store.meta(CA_KEY)?, store.meta(CA_CERT)?) {
            let key = String::from_utf8(key).map_err(|_| CaError::NotPem(CA_KEY))?;
            let cert_pem = String::from_utf8(cert).map_err(|_| CaError::NotPem(CA_CERT))?;
            let issuer = Issuer::from_ca_cert_pem(&cert_pem, KeyPair::from_pem(&key)?)?;
            return Ok(Self { issuer, cert_pem });
        }
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "printlab Universal Print emulator CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key)?;
        store.set_meta(CA_KEY, key.serialize_pem().as_bytes())?;
        store.set_meta(CA_CERT, cert.pem().as_bytes())?;
        let cert_pem = cert.pem();
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem,
        })
    }

    /// The CA certificate, so clients can verify what it issued.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs a base64 PKCS#10 request; returns the certificate as base64 DER, the same encoding
    /// the request came in. A CSR that does not parse or verify is the client's error (400).
    pub fn sign_csr(&self, csr_base64: &str) -> Result<String, GraphError> {
        let der = STANDARD.decode(csr_base64.trim()).map_err(|e| {
            GraphError::bad_request(format!(
                "certificateSigningRequest.content is not base64: {e}"
            ))
        })?;
        let csr = CertificateSigningRequestParams::from_der(&der.into()).map_err(|e| {
            GraphError::bad_request(format!(
                "certificateSigningRequest.content is not a valid PKCS#10 request: {e}"
            ))
        })?;
        let cert = csr
            .signed_by(&self.issuer)
            .map_err(|e| GraphError::internal(format!("signing the certificate failed: {e}")))?;
        Ok(STANDARD.encode(cert.der()))
    }
}

//! The cloud's own certificate authority: it signs the CSR a client sends with
//! `printers/create`, as Universal Print issues each registered printer a device certificate.
//! The CA key and certificate live in the store so certificates stay verifiable across restarts.

use super::odata::GraphError;
use super::store::{Store, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
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
    cert_der: Vec<u8>,
}

impl CertificateAuthority {
    /// Loads the CA from the store, creating and storing one on first use.
    pub fn load_or_create(store: &Store) -> Result<Self, CaError> {
        if let (Some(key), Some(cert)) = (store.meta(CA_KEY)?, store.meta(CA_CERT)?) {
            let key = String::from_utf8(key).map_err(|_| CaError::NotPem(CA_KEY))?;
            let cert_pem = String::from_utf8(cert).map_err(|_| CaError::NotPem(CA_CERT))?;
            let issuer = Issuer::from_ca_cert_pem(&cert_pem, KeyPair::from_pem(&key)?)?;
            let (_, parsed) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
                .map_err(|_| CaError::NotPem(CA_CERT))?;
            let cert_der = parsed.contents;
            return Ok(Self {
                issuer,
                cert_pem,
                cert_der,
            });
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
            cert_der: cert.der().to_vec(),
        })
    }

    /// The CA certificate, so clients can verify what it issued.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs a base64 PKCS#10 request for the printer `printer_id`; returns the certificate as
    /// DER. The subject is replaced by `CN=<printer id>` whatever the request asked for, so the
    /// certificate names the printer it was issued to and the device token endpoint can tell a
    /// certificate of another printer. A CSR that does not parse or verify is the client's error
    /// (400), named by `field`, the request member it came in.
    pub fn issue(
        &self,
        csr_base64: &str,
        printer_id: &str,
        field: &str,
    ) -> Result<Vec<u8>, GraphError> {
        let der = STANDARD
            .decode(csr_base64.trim())
            .map_err(|e| GraphError::bad_request(format!("{field} is not base64: {e}")))?;
        let mut csr = CertificateSigningRequestParams::from_der(&der.into()).map_err(|e| {
            GraphError::bad_request(format!("{field} is not a valid PKCS#10 request: {e}"))
        })?;
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, printer_id);
        csr.params.distinguished_name = subject;
        csr.params.is_ca = IsCa::ExplicitNoCa;
        let cert = csr
            .signed_by(&self.issuer)
            .map_err(|e| GraphError::internal(format!("signing the certificate failed: {e}")))?;
        Ok(cert.der().to_vec())
    }

    /// The printer a certificate was issued to, if this CA issued it and it is valid now.
    pub fn verify_issued(&self, der: &[u8]) -> Result<String, CertificateRejected> {
        let (_, ca) = x509_parser::parse_x509_certificate(&self.cert_der)
            .map_err(|e| CertificateRejected(format!("the CA certificate does not parse: {e}")))?;
        let (rest, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| CertificateRejected(format!("not a DER X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(CertificateRejected(
                "trailing bytes after the certificate".into(),
            ));
        }
        cert.verify_signature(Some(ca.public_key())).map_err(|_| {
            CertificateRejected("the certificate was not issued by this cloud's CA".into())
        })?;
        if !cert.validity().is_valid() {
            return Err(CertificateRejected(
                "the certificate is outside its validity period".into(),
            ));
        }
        cert.subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string)
            .ok_or_else(|| CertificateRejected("the certificate names no printer (CN)".into()))
    }
}

/// Why a certificate presented to the cloud is not one of its printers'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CertificateRejected(pub String);

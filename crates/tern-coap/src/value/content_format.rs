//! Content-Format and Accept values (RFC 7252 §12.3 and the IANA registry).

use core::fmt;

/// A Content-Format identifier (RFC 7252 §5.10.3, §12.3): a media type with its parameters
/// and a content coding, as registered in the IANA "CoAP Content-Formats" registry. Used by
/// the Content-Format and Accept options. Any `u16` is a valid identifier; the constants name
/// the registered ones.
///
/// The constants were checked against the registry as published by IANA (the
/// `content-formats.csv` snapshot kept by aiocoap) and, for 64 and 65, RFC 9528 §10.9.
/// Temporary and draft-backed registrations are left out.
///
/// ```
/// use tern_coap::value::ContentFormat;
///
/// assert_eq!(ContentFormat::LINK_FORMAT.0, 40);
/// assert_eq!(ContentFormat::SENML_JSON.media_type(), Some("application/senml+json"));
/// assert_eq!(ContentFormat::from_media_type("text/plain;charset=utf-8"), Some(ContentFormat::TEXT_PLAIN));
/// assert_eq!(ContentFormat(65001).media_type(), None);
/// assert_eq!(ContentFormat::JSON.to_string(), "application/json");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentFormat(pub u16);

macro_rules! content_formats {
    ($( $const:ident = $id:literal, $mt:literal, $coding:literal, $rfc:literal; )*) => {
        impl ContentFormat {
            $(
                #[doc = concat!("`", $mt, "`", content_formats!(@coding $coding), " (", stringify!($id), ", ", $rfc, ").")]
                pub const $const: ContentFormat = ContentFormat($id);
            )*

            /// Every registered Content-Format tern knows, in number order.
            ///
            /// ```
            /// use tern_coap::value::ContentFormat;
            /// assert!(ContentFormat::KNOWN.contains(&ContentFormat::CBOR));
            /// ```
            pub const KNOWN: &'static [ContentFormat] = &[$(ContentFormat($id)),*];

            /// The media type with its parameters, as the registry writes it, or `None` for an
            /// identifier tern does not know.
            ///
            /// ```
            /// use tern_coap::value::ContentFormat;
            /// assert_eq!(ContentFormat::TEXT_PLAIN.media_type(), Some("text/plain; charset=utf-8"));
            /// assert_eq!(ContentFormat::COSE_SIGN1.media_type(), Some("application/cose; cose-type=\"cose-sign1\""));
            /// ```
            pub const fn media_type(self) -> Option<&'static str> {
                match self.0 {
                    $( $id => Some($mt), )*
                    _ => None,
                }
            }

            /// The content coding: `"identity"`, or e.g. `"deflate"` for 11050 and 11060;
            /// `None` for an identifier tern does not know.
            ///
            /// ```
            /// use tern_coap::value::ContentFormat;
            /// assert_eq!(ContentFormat::JSON.content_coding(), Some("identity"));
            /// assert_eq!(ContentFormat::JSON_DEFLATE.content_coding(), Some("deflate"));
            /// ```
            pub const fn content_coding(self) -> Option<&'static str> {
                match self.0 {
                    $( $id => Some($coding), )*
                    _ => None,
                }
            }
        }
    };
    (@coding "identity") => { "" };
    (@coding $coding:literal) => { concat!(" with content coding ", $coding) };
}

content_formats! {
    TEXT_PLAIN = 0, "text/plain; charset=utf-8", "identity", "RFC 2046, RFC 3676, RFC 5147";
    COSE_ENCRYPT0 = 16, "application/cose; cose-type=\"cose-encrypt0\"", "identity", "RFC 9052";
    COSE_MAC0 = 17, "application/cose; cose-type=\"cose-mac0\"", "identity", "RFC 9052";
    COSE_SIGN1 = 18, "application/cose; cose-type=\"cose-sign1\"", "identity", "RFC 9052";
    ACE_CBOR = 19, "application/ace+cbor", "identity", "RFC 9200";
    IMAGE_GIF = 21, "image/gif", "identity", "GIF89a";
    IMAGE_JPEG = 22, "image/jpeg", "identity", "ISO/IEC 10918-5";
    IMAGE_PNG = 23, "image/png", "identity", "RFC 2083";
    LINK_FORMAT = 40, "application/link-format", "identity", "RFC 6690";
    XML = 41, "application/xml", "identity", "RFC 3023";
    OCTET_STREAM = 42, "application/octet-stream", "identity", "RFC 2045, RFC 2046";
    EXI = 47, "application/exi", "identity", "W3C EXI 1.0";
    JSON = 50, "application/json", "identity", "RFC 8259";
    JSON_PATCH_JSON = 51, "application/json-patch+json", "identity", "RFC 6902";
    MERGE_PATCH_JSON = 52, "application/merge-patch+json", "identity", "RFC 7396";
    CBOR = 60, "application/cbor", "identity", "RFC 8949";
    CWT = 61, "application/cwt", "identity", "RFC 8392";
    MULTIPART_CORE = 62, "application/multipart-core", "identity", "RFC 8710";
    CBOR_SEQ = 63, "application/cbor-seq", "identity", "RFC 8742";
    EDHOC_CBOR_SEQ = 64, "application/edhoc+cbor-seq", "identity", "RFC 9528";
    CID_EDHOC_CBOR_SEQ = 65, "application/cid-edhoc+cbor-seq", "identity", "RFC 9528";
    COSE_ENCRYPT = 96, "application/cose; cose-type=\"cose-encrypt\"", "identity", "RFC 9052";
    COSE_MAC = 97, "application/cose; cose-type=\"cose-mac\"", "identity", "RFC 9052";
    COSE_SIGN = 98, "application/cose; cose-type=\"cose-sign\"", "identity", "RFC 9052";
    COSE_KEY = 101, "application/cose-key", "identity", "RFC 9052";
    COSE_KEY_SET = 102, "application/cose-key-set", "identity", "RFC 9052";
    SENML_JSON = 110, "application/senml+json", "identity", "RFC 8428";
    SENSML_JSON = 111, "application/sensml+json", "identity", "RFC 8428";
    SENML_CBOR = 112, "application/senml+cbor", "identity", "RFC 8428";
    SENSML_CBOR = 113, "application/sensml+cbor", "identity", "RFC 8428";
    SENML_EXI = 114, "application/senml-exi", "identity", "RFC 8428";
    SENSML_EXI = 115, "application/sensml-exi", "identity", "RFC 8428";
    YANG_DATA_CBOR_SID = 140, "application/yang-data+cbor; id=sid", "identity", "RFC 9254";
    COAP_GROUP_JSON = 256, "application/coap-group+json", "identity", "RFC 7390";
    CONCISE_PROBLEM_DETAILS_CBOR = 257, "application/concise-problem-details+cbor", "identity", "RFC 9290";
    SWID_CBOR = 258, "application/swid+cbor", "identity", "RFC 9393";
    DOTS_CBOR = 271, "application/dots+cbor", "identity", "RFC 9132";
    MISSING_BLOCKS_CBOR_SEQ = 272, "application/missing-blocks+cbor-seq", "identity", "RFC 9177";
    PKCS7_SERVER_GENERATED_KEY = 280, "application/pkcs7-mime; smime-type=server-generated-key", "identity", "RFC 7030, RFC 8551, RFC 9148";
    PKCS7_CERTS_ONLY = 281, "application/pkcs7-mime; smime-type=certs-only", "identity", "RFC 8551, RFC 9148";
    PKCS8 = 284, "application/pkcs8", "identity", "RFC 5958, RFC 8551, RFC 9148";
    CSRATTRS = 285, "application/csrattrs", "identity", "RFC 7030, RFC 9148";
    PKCS10 = 286, "application/pkcs10", "identity", "RFC 5967, RFC 8551, RFC 9148";
    PKIX_CERT = 287, "application/pkix-cert", "identity", "RFC 2585, RFC 9148";
    AIF_CBOR = 290, "application/aif+cbor", "identity", "RFC 9237";
    AIF_JSON = 291, "application/aif+json", "identity", "RFC 9237";
    SENML_XML = 310, "application/senml+xml", "identity", "RFC 8428";
    SENSML_XML = 311, "application/sensml+xml", "identity", "RFC 8428";
    SENML_ETCH_JSON = 320, "application/senml-etch+json", "identity", "RFC 8790";
    SENML_ETCH_CBOR = 322, "application/senml-etch+cbor", "identity", "RFC 8790";
    YANG_DATA_CBOR = 340, "application/yang-data+cbor", "identity", "RFC 9254";
    YANG_DATA_CBOR_NAME = 341, "application/yang-data+cbor; id=name", "identity", "RFC 9254";
    TD_JSON = 432, "application/td+json", "identity", "W3C WoT Thing Description";
    VND_OCF_CBOR = 10000, "application/vnd.ocf+cbor", "identity", "OCF";
    OSCORE = 10001, "application/oscore", "identity", "RFC 8613";
    JAVASCRIPT = 10002, "application/javascript", "identity", "RFC 4329";
    JSON_DEFLATE = 11050, "application/json", "deflate", "RFC 8259";
    CBOR_DEFLATE = 11060, "application/cbor", "deflate", "RFC 8949";
    LWM2M_TLV = 11542, "application/vnd.oma.lwm2m+tlv", "identity", "OMA LwM2M 1.0";
    LWM2M_JSON = 11543, "application/vnd.oma.lwm2m+json", "identity", "OMA LwM2M 1.0";
    LWM2M_CBOR = 11544, "application/vnd.oma.lwm2m+cbor", "identity", "OMA LwM2M 1.2";
    TEXT_CSS = 20000, "text/css", "identity", "RFC 2318";
    IMAGE_SVG_XML = 30000, "image/svg+xml", "identity", "W3C SVG";
}

impl ContentFormat {
    /// The registered identifier for a media type with the identity coding; `None` if tern
    /// knows none. Matching ignores ASCII case, white space and the quotes around parameter
    /// values, so `text/plain;charset=utf-8` finds 0 and `application/cose;
    /// cose-type=cose-mac0` finds 17.
    ///
    /// ```
    /// use tern_coap::value::ContentFormat;
    /// assert_eq!(ContentFormat::from_media_type("application/cbor"), Some(ContentFormat::CBOR));
    /// assert_eq!(ContentFormat::from_media_type("Application/COSE; cose-type=cose-mac0"), Some(ContentFormat::COSE_MAC0));
    /// assert_eq!(ContentFormat::from_media_type("text/plain"), None); // the charset is part of it
    /// ```
    pub fn from_media_type(media_type: &str) -> Option<ContentFormat> {
        ContentFormat::from_media_type_and_coding(media_type, "identity")
    }

    /// The registered identifier for a media type with a content coding (e.g. `"deflate"`).
    ///
    /// ```
    /// use tern_coap::value::ContentFormat;
    /// assert_eq!(
    ///     ContentFormat::from_media_type_and_coding("application/json", "deflate"),
    ///     Some(ContentFormat::JSON_DEFLATE)
    /// );
    /// ```
    pub fn from_media_type_and_coding(media_type: &str, coding: &str) -> Option<ContentFormat> {
        ContentFormat::KNOWN.iter().copied().find(|cf| {
            cf.media_type().is_some_and(|m| media_eq(m, media_type))
                && cf
                    .content_coding()
                    .is_some_and(|c| c.eq_ignore_ascii_case(coding))
        })
    }

    /// Whether the identifier is in the range reserved for experimental use, 65000–65535
    /// (RFC 7252 §12.3).
    ///
    /// ```
    /// use tern_coap::value::ContentFormat;
    /// assert!(ContentFormat(65000).is_experimental());
    /// assert!(!ContentFormat::JSON.is_experimental());
    /// ```
    pub const fn is_experimental(self) -> bool {
        self.0 >= 65000
    }
}

/// Media types compared without case, white space or quotes.
fn media_eq(a: &str, b: &str) -> bool {
    let significant = |c: &u8| !c.is_ascii_whitespace() && *c != b'"';
    let mut a = a.bytes().filter(significant);
    let mut b = b.bytes().filter(significant);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}

impl fmt::Display for ContentFormat {
    /// The media type (and the coding if not identity), or the number if unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.media_type(), self.content_coding()) {
            (Some(m), Some("identity")) => f.write_str(m),
            (Some(m), Some(c)) => write!(f, "{m} ({c})"),
            _ => write!(f, "{}", self.0),
        }
    }
}

impl From<u16> for ContentFormat {
    fn from(v: u16) -> Self {
        ContentFormat(v)
    }
}

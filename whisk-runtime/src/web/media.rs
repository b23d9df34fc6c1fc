//! Which content types OpenWhisk's controller treats as binary, and which as
//! JSON: the two questions that decide how a body is encoded in
//! `__ow_body` and how a result's `body` is interpreted.
//!
//! The controller (`WebActions.scala`) asks Pekko HTTP. Pekko parses a
//! `Content-Type` into a media type that is *binary* or not:
//!
//! * `multipart/*` is binary;
//! * a registered media type (Pekko's `MediaTypes` table) has a fixed
//!   answer: `text/*`, `application/json`, `application/xml`, ... are not
//!   binary; `image/*`, `application/octet-stream`, `application/pdf`, ...
//!   are, even with a `charset` parameter;
//! * any other media type is binary unless it has a `charset` parameter
//!   (`text/javascript` is binary, `text/javascript; charset=utf-8` is not).
//!
//! A media type is *JSON-family* (`WhiskWebActionsApi.isJsonFamily`) when it
//! is `application/json` or ends in `+json`, compared on Pekko's rendering,
//! which keeps parameters other than `charset`: `application/json;
//! profile=x` is not JSON-family.

/// A parsed `Content-Type` value, reduced to what the rules need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MediaType {
    /// `main/sub`, lower-cased.
    essence: String,
    /// Whether there is a `charset` parameter.
    charset: bool,
    /// Whether there is any other parameter.
    other_params: bool,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl MediaType {
    /// Parses `main/sub; name=value; ...`; `None` when it is not a media
    /// type (which the controller rejects as an unknown content type).
    pub(crate) fn parse(value: &str) -> Option<MediaType> {
        let mut parts = value.split(';');
        let essence = parts.next()?.trim();
        let (main, sub) = essence.split_once('/')?;
        if !is_token(main) || !is_token(sub) {
            return None;
        }
        let mut charset = false;
        let mut other_params = false;
        for param in parts {
            let param = param.trim();
            if param.is_empty() {
                continue;
            }
            let (name, _) = param.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("charset") {
                charset = true;
            } else {
                other_params = true;
            }
        }
        Some(MediaType {
            essence: essence.to_ascii_lowercase(),
            charset,
            other_params,
        })
    }

    fn main_type(&self) -> &str {
        self.essence.split('/').next().unwrap_or_default()
    }

    /// Whether Pekko treats this media type as binary.
    pub(crate) fn is_binary(&self) -> bool {
        if self.main_type() == "multipart" {
            true
        } else if NON_BINARY.binary_search(&self.essence.as_str()).is_ok() {
            false
        } else if BINARY.binary_search(&self.essence.as_str()).is_ok() {
            true
        } else {
            !self.charset
        }
    }

    /// `application/json` or `*+json`, without parameters other than
    /// `charset`.
    pub(crate) fn is_json_family(&self) -> bool {
        !self.other_params
            && (self.essence == "application/json" || self.essence.ends_with("+json"))
    }

    /// Exactly `application/json` (a `charset` parameter allowed): the type a
    /// raw web action receives base64-encoded although it is not binary.
    pub(crate) fn is_application_json(&self) -> bool {
        !self.other_params && self.essence == "application/json"
    }
}

impl MediaType {
    /// `application/x-www-form-urlencoded`: a body the controller merges
    /// into the parameters in non-raw mode.
    #[cfg(feature = "axum")]
    pub(crate) fn is_form(&self) -> bool {
        self.essence == "application/x-www-form-urlencoded"
    }
}

/// Pekko HTTP's registered media types that are not binary, sorted.
const NON_BINARY: &[&str] = &[
    "application/atom+xml",
    "application/base64",
    "application/javascript",
    "application/json",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/problem+json",
    "application/problem+xml",
    "application/rss+xml",
    "application/soap+xml",
    "application/vnd.api+json",
    "application/vnd.google-earth.kml+xml",
    "application/x-latex",
    "application/x-vrml",
    "application/x-www-form-urlencoded",
    "application/xhtml+xml",
    "application/xml",
    "application/xml-dtd",
    "text/asp",
    "text/cache-manifest",
    "text/calendar",
    "text/css",
    "text/csv",
    "text/event-stream",
    "text/html",
    "text/markdown",
    "text/mcf",
    "text/plain",
    "text/richtext",
    "text/tab-separated-values",
    "text/uri-list",
    "text/vnd.wap.wml",
    "text/vnd.wap.wmlscript",
    "text/x-asm",
    "text/x-c",
    "text/x-component",
    "text/x-h",
    "text/x-java-source",
    "text/x-pascal",
    "text/x-script",
    "text/x-scriptcsh",
    "text/x-scriptelisp",
    "text/x-scriptksh",
    "text/x-scriptlisp",
    "text/x-scriptperl",
    "text/x-scriptperl-module",
    "text/x-scriptphyton",
    "text/x-scriptrexx",
    "text/x-scriptscheme",
    "text/x-scriptsh",
    "text/x-scripttcl",
    "text/x-scripttcsh",
    "text/x-scriptzsh",
    "text/x-server-parsed-html",
    "text/x-setext",
    "text/x-sgml",
    "text/x-speech",
    "text/x-uuencode",
    "text/x-vcalendar",
    "text/x-vcard",
    "text/xml",
];

/// Pekko HTTP's registered binary media types (other than `multipart/*`),
/// sorted. They stay binary with a `charset` parameter.
const BINARY: &[&str] = &[
    "application/cbor",
    "application/gnutar",
    "application/grpc+proto",
    "application/java-archive",
    "application/lha",
    "application/lzx",
    "application/msword",
    "application/octet-stream",
    "application/pdf",
    "application/postscript",
    "application/vnd.google-earth.kmz",
    "application/vnd.ms-excel",
    "application/vnd.ms-excel.addin.macroenabled.12",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12",
    "application/vnd.ms-excel.sheet.macroenabled.12",
    "application/vnd.ms-excel.template.macroenabled.12",
    "application/vnd.ms-fontobject",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-powerpoint.addin.macroenabled.12",
    "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    "application/vnd.ms-powerpoint.slideshow.macroenabled.12",
    "application/vnd.ms-word.document.macroenabled.12",
    "application/vnd.ms-word.template.macroenabled.12",
    "application/vnd.oasis.opendocument.chart",
    "application/vnd.oasis.opendocument.database",
    "application/vnd.oasis.opendocument.formula",
    "application/vnd.oasis.opendocument.graphics",
    "application/vnd.oasis.opendocument.image",
    "application/vnd.oasis.opendocument.presentation",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.text-master",
    "application/vnd.oasis.opendocument.text-web",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.slide",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    "application/vnd.openxmlformats-officedocument.presentationml.template",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/x-7z-compressed",
    "application/x-ace-compressed",
    "application/x-apple-diskimage",
    "application/x-arc-compressed",
    "application/x-bzip",
    "application/x-bzip2",
    "application/x-chrome-extension",
    "application/x-compress",
    "application/x-compressed",
    "application/x-debian-package",
    "application/x-dvi",
    "application/x-font-opentype",
    "application/x-font-truetype",
    "application/x-gtar",
    "application/x-gzip",
    "application/x-rar-compressed",
    "application/x-redhat-package-manager",
    "application/x-shockwave-flash",
    "application/x-tar",
    "application/x-tex",
    "application/x-texinfo",
    "application/x-x509-ca-cert",
    "application/x-xpinstall",
    "application/zip",
    "audio/aiff",
    "audio/basic",
    "audio/midi",
    "audio/mod",
    "audio/mpeg",
    "audio/ogg",
    "audio/voc",
    "audio/vorbis",
    "audio/voxware",
    "audio/wav",
    "audio/webm",
    "audio/x-pn-realaudio",
    "audio/x-psid",
    "audio/xm",
    "font/woff",
    "font/woff2",
    "image/gif",
    "image/jpeg",
    "image/pict",
    "image/png",
    "image/svg+xml",
    "image/tiff",
    "image/webp",
    "image/x-icon",
    "image/x-ms-bmp",
    "image/x-pcx",
    "image/x-pict",
    "image/x-quicktime",
    "image/x-rgb",
    "image/x-xbitmap",
    "image/x-xpixmap",
    "message/delivery-status",
    "message/http",
    "message/rfc822",
    "video/avs-video",
    "video/divx",
    "video/gl",
    "video/mp4",
    "video/mpeg",
    "video/ogg",
    "video/quicktime",
    "video/webm",
    "video/x-dv",
    "video/x-flv",
    "video/x-motion-jpeg",
    "video/x-ms-asf",
    "video/x-msvideo",
    "video/x-sgi-movie",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(ct: &str) -> bool {
        MediaType::parse(ct)
            .unwrap_or_else(|| panic!("{ct:?} parses"))
            .is_binary()
    }

    #[test]
    fn tables_are_sorted_lower_case_and_disjoint() {
        for table in [NON_BINARY, BINARY] {
            assert!(table.windows(2).all(|w| w[0] < w[1]), "{table:?}");
            assert!(table.iter().all(|t| *t == t.to_ascii_lowercase()));
            assert!(table.iter().all(|t| MediaType::parse(t).is_some()));
        }
        assert!(NON_BINARY.iter().all(|t| BINARY.binary_search(t).is_err()));
    }

    #[test]
    fn binary_per_pekko() {
        // Registered, not binary.
        for ct in [
            "text/plain",
            "text/plain; charset=UTF-8",
            "TEXT/HTML",
            "text/csv",
            "application/json",
            "application/json; charset=utf-8",
            "application/xml",
            "application/x-www-form-urlencoded",
            "application/javascript",
            "application/problem+json",
        ] {
            assert!(!binary(ct), "{ct}");
        }
        // Registered, binary, with or without a charset.
        for ct in [
            "image/png",
            "image/svg+xml",
            "application/octet-stream",
            "application/octet-stream; charset=utf-8",
            "application/pdf",
            "audio/mpeg",
            "video/mp4",
            "font/woff2",
            "message/http",
            "application/vnd.ms-excel.sheet.macroEnabled.12",
        ] {
            assert!(binary(ct), "{ct}");
        }
        // multipart is always binary.
        assert!(binary("multipart/form-data; boundary=x"));
        assert!(binary("multipart/x-custom; charset=utf-8"));
        // Unregistered: binary unless a charset is given.
        assert!(binary("text/javascript"));
        assert!(!binary("text/javascript; charset=utf-8"));
        assert!(binary("application/x-ndjson"));
        assert!(binary("application/vnd.example+json"));
        assert!(!binary("application/yaml; Charset=\"utf-8\""));
        assert!(binary("image/x-unknown"));
        assert!(!binary("image/x-unknown; charset=utf-8"));
    }

    #[test]
    fn json_family() {
        let json = |ct: &str| MediaType::parse(ct).unwrap().is_json_family();
        let exact = |ct: &str| MediaType::parse(ct).unwrap().is_application_json();
        assert!(json("application/json") && exact("application/json"));
        assert!(json("Application/JSON; charset=utf-8") && exact("application/json;charset=utf-8"));
        assert!(json("application/vnd.api+json") && !exact("application/vnd.api+json"));
        assert!(json("application/x-custom+json"));
        assert!(!json("application/json; profile=x") && !exact("application/json; profile=x"));
        assert!(!json("text/json") && !json("application/jsonx"));
    }

    #[test]
    fn parse_rejects_what_is_not_a_media_type() {
        for ct in [
            "",
            "json",
            "/json",
            "application/",
            "a b/c",
            "text/plain; charset",
            "text/plain;x",
        ] {
            assert_eq!(MediaType::parse(ct), None, "{ct:?}");
        }
        assert_eq!(
            MediaType::parse(" text/Plain ;; charset=utf-8 ; q=1 "),
            Some(MediaType {
                essence: "text/plain".into(),
                charset: true,
                other_params: true
            })
        );
    }
}

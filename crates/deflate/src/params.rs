//! The four parameters of RFC 7692 §7.1 and their strict parsing.

use std::fmt;

use swell_handshake::Extension;

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// The parameters of one `permessage-deflate` offer or response, parsed strictly
/// (RFC 7692 §7.1): only the four defined names, each at most once, with valid values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// `server_no_context_takeover`: the server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover`: the client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits=N`: the server compresses with a window of at most 2^N bytes.
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits[=N]`: in an offer, the client supports the parameter (and with
    /// a value, limits itself); in a response, the client must use a window of at most 2^N.
    /// `Some(None)` is the parameter without a value, allowed in offers only.
    pub client_max_window_bits: Option<Option<u8>>,
}

/// An offer or response that breaks RFC 7692 §7.1.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidParams {
    /// The extension is not permessage-deflate.
    Name,
    /// A parameter RFC 7692 does not define.
    Unknown(String),
    /// A parameter given twice.
    Duplicate(&'static str),
    /// A value where none is allowed, none where one is required, or one outside 8-15.
    Value(&'static str),
}

impl fmt::Display for InvalidParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name => write!(f, "not a {NAME} extension"),
            Self::Unknown(name) => write!(f, "unknown {NAME} parameter {name:?}"),
            Self::Duplicate(name) => write!(f, "{NAME} parameter {name} given twice"),
            Self::Value(name) => write!(f, "invalid value for {NAME} parameter {name}"),
        }
    }
}

impl std::error::Error for InvalidParams {}

/// Window bits: a decimal 8-15 without leading zeros.
fn window_bits(name: &'static str, value: Option<&str>) -> Result<u8, InvalidParams> {
    match value {
        Some(v) if !v.starts_with('0') => match v.parse::<u8>() {
            Ok(bits @ 8..=15) => Ok(bits),
            _ => Err(InvalidParams::Value(name)),
        },
        _ => Err(InvalidParams::Value(name)),
    }
}

impl Params {
    /// Parses the parameters of a `permessage-deflate` extension element.
    ///
    /// # Errors
    ///
    /// [`InvalidParams`] for anything RFC 7692 §7.1 does not allow.
    pub fn parse(extension: &Extension) -> Result<Self, InvalidParams> {
        if extension.name() != NAME {
            return Err(InvalidParams::Name);
        }
        let mut params = Self::default();
        for (name, value) in extension.params() {
            match name {
                "server_no_context_takeover" | "client_no_context_takeover" => {
                    let (flag, key) = if name.starts_with("server") {
                        (
                            &mut params.server_no_context_takeover,
                            "server_no_context_takeover",
                        )
                    } else {
                        (
                            &mut params.client_no_context_takeover,
                            "client_no_context_takeover",
                        )
                    };
                    if *flag {
                        return Err(InvalidParams::Duplicate(key));
                    }
                    if value.is_some() {
                        return Err(InvalidParams::Value(key));
                    }
                    *flag = true;
                }
                "server_max_window_bits" => {
                    let key = "server_max_window_bits";
                    if params.server_max_window_bits.is_some() {
                        return Err(InvalidParams::Duplicate(key));
                    }
                    params.server_max_window_bits = Some(window_bits(key, value)?);
                }
                "client_max_window_bits" => {
                    let key = "client_max_window_bits";
                    if params.client_max_window_bits.is_some() {
                        return Err(InvalidParams::Duplicate(key));
                    }
                    let bits = value.map(|v| window_bits(key, Some(v))).transpose()?;
                    params.client_max_window_bits = Some(bits);
                }
                other => return Err(InvalidParams::Unknown(other.to_owned())),
            }
        }
        Ok(params)
    }

    /// The extension element with these parameters.
    pub fn to_extension(&self) -> Extension {
        let mut extension = Extension::new(NAME);
        if self.server_no_context_takeover {
            extension = extension.with_param("server_no_context_takeover", None);
        }
        if self.client_no_context_takeover {
            extension = extension.with_param("client_no_context_takeover", None);
        }
        if let Some(bits) = self.server_max_window_bits {
            extension = extension.with_param("server_max_window_bits", Some(bits.to_string()));
        }
        if let Some(bits) = self.client_max_window_bits {
            extension = extension.with_param("client_max_window_bits", bits.map(|b| b.to_string()));
        }
        extension
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(params: &[(&str, Option<&str>)]) -> Extension {
        params.iter().fold(Extension::new(NAME), |e, (n, v)| {
            e.with_param(*n, v.map(str::to_owned))
        })
    }

    #[test]
    fn parses_all_four_parameters() {
        let params = Params::parse(&ext(&[
            ("server_no_context_takeover", None),
            ("client_no_context_takeover", None),
            ("server_max_window_bits", Some("10")),
            ("client_max_window_bits", None),
        ]))
        .unwrap();
        assert_eq!(
            params,
            Params {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(None),
            }
        );
        assert_eq!(Params::parse(&params.to_extension()), Ok(params));
    }

    #[test]
    fn rejects_unknown_duplicated_and_invalid() {
        type Case<'a> = (&'a [(&'a str, Option<&'a str>)], InvalidParams);
        let cases: &[Case<'_>] = &[
            (&[("x", None)], InvalidParams::Unknown("x".into())),
            (
                &[
                    ("server_no_context_takeover", None),
                    ("server_no_context_takeover", None),
                ],
                InvalidParams::Duplicate("server_no_context_takeover"),
            ),
            (
                &[("client_no_context_takeover", Some("1"))],
                InvalidParams::Value("client_no_context_takeover"),
            ),
            (
                &[("server_max_window_bits", None)],
                InvalidParams::Value("server_max_window_bits"),
            ),
            (
                &[("server_max_window_bits", Some("7"))],
                InvalidParams::Value("server_max_window_bits"),
            ),
            (
                &[("server_max_window_bits", Some("16"))],
                InvalidParams::Value("server_max_window_bits"),
            ),
            (
                &[("server_max_window_bits", Some("09"))],
                InvalidParams::Value("server_max_window_bits"),
            ),
            (
                &[("client_max_window_bits", Some("abc"))],
                InvalidParams::Value("client_max_window_bits"),
            ),
            (
                &[
                    ("client_max_window_bits", None),
                    ("client_max_window_bits", Some("9")),
                ],
                InvalidParams::Duplicate("client_max_window_bits"),
            ),
        ];
        for (params, error) in cases {
            assert_eq!(
                Params::parse(&ext(params)).as_ref(),
                Err(error),
                "{params:?}"
            );
        }
        assert_eq!(
            Params::parse(&Extension::new("x-other")),
            Err(InvalidParams::Name)
        );
        for bits in 8..=15 {
            let text = bits.to_string();
            let p = Params::parse(&ext(&[("server_max_window_bits", Some(&text))])).unwrap();
            assert_eq!(p.server_max_window_bits, Some(bits));
        }
    }
}

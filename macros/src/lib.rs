//! `#[evloop::main]` and `#[evloop::test]`: run an `async fn` to completion on a new evloop
//! runtime. Use them through evloop's `macros` feature, as `evloop::main` and `evloop::test`.
//!
//! Both rewrite
//!
//! ```text
//! #[attributes] [pub] async fn name() [-> Ret] { body }
//! ```
//!
//! into a plain function of the same name and signature whose body keeps the original as an
//! inner `async fn` (so the body is type-checked against the declared return type, `?` and
//! `return` included) and runs it on a runtime built for the call:
//!
//! ```text
//! #[attributes] [pub] fn name() [-> Ret] {
//!     async fn name() [-> Ret] { body }
//!     ::evloop::Runtime::new().expect("...").block_on(name())
//! }
//! ```
//!
//! `#[evloop::test]` also adds `#[test]`. The crate has no dependencies: it walks the
//! `proc_macro` token trees by hand and copies the user's tokens, with their spans, so errors
//! in the body point at the body.
//!
//! # Arguments
//!
//! Written as in tokio, so code ports by changing the path: `flavor = "current_thread"` is
//! accepted (it is what evloop is) and `crate = "path"` names the evloop crate when it is
//! re-exported under another path. Every other argument (`flavor = "multi_thread"`,
//! `worker_threads`, `start_paused`, ...) is a compile error that names it.

#![warn(missing_docs, rust_2018_idioms)]

use proc_macro::{Delimiter, Group, Ident, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn` on a new evloop runtime: the usual way to write `main`.
///
/// See `evloop::main` (evloop's `macros` feature) for examples.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item).unwrap_or_else(|error| error.into_tokens())
}

/// Runs an `async fn` test on a new evloop runtime, one per test.
///
/// See `evloop::test` (evloop's `macros` feature) for examples.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item).unwrap_or_else(|error| error.into_tokens())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[evloop::main]",
            Kind::Test => "#[evloop::test]",
        }
    }
}

/// A compile error at `span`.
struct Error {
    span: Span,
    message: String,
}

impl Error {
    fn new(span: Span, message: impl Into<String>) -> Self {
        Error {
            span,
            message: message.into(),
        }
    }

    /// `::core::compile_error!("message");`, every token at the error's span.
    fn into_tokens(self) -> TokenStream {
        let tokens: TokenStream = format!("::core::compile_error!({:?});", self.message)
            .parse()
            .expect("a compile_error! invocation parses");
        with_span(tokens, self.span)
    }
}

/// `tokens` with every token, also inside groups, at `span`.
fn with_span(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), with_span(group.stream(), span));
                inner.set_span(span);
                TokenTree::Group(inner)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// What the arguments of the attribute asked for.
struct Options {
    /// The path of the evloop crate (`::evloop` unless `crate = "..."`).
    krate: TokenStream,
}

fn parse_options(kind: Kind, args: TokenStream) -> Result<Options, Error> {
    let mut options = Options {
        krate: "::evloop".parse().expect("a path parses"),
    };
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    // `name = value` items separated by commas; a trailing comma is fine.
    for item in tokens.split(|token| is_punct(token, ',')) {
        let (name, value) = match item {
            [] => continue,
            [TokenTree::Ident(name), eq, value] if is_punct(eq, '=') => (name, value),
            [TokenTree::Ident(name), ..] => {
                let known = ["flavor", "crate", "worker_threads", "start_paused"];
                let problem = if known.contains(&name.to_string().as_str()) {
                    format!("expected `{name} = <value>`")
                } else {
                    format!("unknown argument `{name}`")
                };
                return Err(Error::new(
                    name.span(),
                    format!("{}: {problem}; {SUPPORTED}", kind.attribute()),
                ));
            }
            [other, ..] => {
                return Err(Error::new(
                    other.span(),
                    format!(
                        "{}: expected `name = value`; {}",
                        kind.attribute(),
                        SUPPORTED
                    ),
                ));
            }
        };
        let text = value.to_string();
        match (name.to_string().as_str(), text.as_str()) {
            ("flavor", "\"current_thread\"") => {}
            ("flavor", _) => {
                return Err(Error::new(
                    value.span(),
                    format!(
                        "{}: `flavor = {text}` is not supported: evloop runs every task on the \
                         current thread; write `flavor = \"current_thread\"` or leave it out",
                        kind.attribute()
                    ),
                ));
            }
            ("crate", _) => {
                let path = text
                    .strip_prefix('"')
                    .and_then(|text| text.strip_suffix('"'))
                    .and_then(|path| path.parse::<TokenStream>().ok())
                    .filter(|path| !path.is_empty())
                    .ok_or_else(|| {
                        Error::new(
                            value.span(),
                            format!(
                                "{}: `crate` takes the path of the evloop crate as a string, \
                                 such as `crate = \"::evloop\"`",
                                kind.attribute()
                            ),
                        )
                    })?;
                options.krate = with_span(path, value.span());
            }
            ("worker_threads", _) => {
                return Err(unsupported(kind, name, "evloop runs on one thread"));
            }
            ("start_paused", _) => {
                return Err(unsupported(kind, name, "evloop's clock cannot be paused"));
            }
            ("unhandled_panic", _) => {
                return Err(unsupported(
                    kind,
                    name,
                    "a panicking task's JoinHandle reports the panic",
                ));
            }
            (other, _) => {
                return Err(Error::new(
                    name.span(),
                    format!(
                        "{}: unknown argument `{other}`; {}",
                        kind.attribute(),
                        SUPPORTED
                    ),
                ));
            }
        }
    }
    Ok(options)
}

const SUPPORTED: &str = "the arguments supported are `flavor = \"current_thread\"` and \
                         `crate = \"<path to evloop>\"`";

fn unsupported(kind: Kind, name: &Ident, why: &str) -> Error {
    Error::new(
        name.span(),
        format!(
            "{}: the argument `{name}` is not supported ({why})",
            kind.attribute()
        ),
    )
}

fn is_punct(token: &TokenTree, c: char) -> bool {
    matches!(token, TokenTree::Punct(punct) if punct.as_char() == c)
}

fn is_ident(token: &TokenTree, name: &str) -> bool {
    matches!(token, TokenTree::Ident(ident) if ident.to_string() == name)
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let options = parse_options(kind, args)?;
    let tokens: Vec<TokenTree> = item.into_iter().collect();

    // Everything before `fn`: attributes (`#` then a `[...]` group), visibility, qualifiers.
    let fn_index = tokens
        .iter()
        .position(|token| is_ident(token, "fn"))
        .ok_or_else(|| {
            Error::new(
                Span::call_site(),
                format!("{} applies to an `async fn`", kind.attribute()),
            )
        })?;
    let (prefix, rest) = tokens.split_at(fn_index);
    let Some(async_index) = prefix.iter().position(|token| is_ident(token, "async")) else {
        return Err(Error::new(
            rest[0].span(),
            format!(
                "{}: the function must be `async` (write `async fn`)",
                kind.attribute()
            ),
        ));
    };
    if kind == Kind::Test && has_test_attribute(prefix) {
        return Err(Error::new(
            rest[0].span(),
            "#[evloop::test] already adds #[test]: remove the second test attribute",
        ));
    }

    // `fn name (args) tail { body }`, where tail is `-> Ret` and a where clause, if any.
    let (name, args) = match rest {
        [_, TokenTree::Ident(name), TokenTree::Group(args), ..]
            if args.delimiter() == Delimiter::Parenthesis =>
        {
            (name, args)
        }
        [_, TokenTree::Ident(name), next, ..] if is_punct(next, '<') => {
            return Err(Error::new(
                next.span(),
                format!("{}: the function cannot be generic", kind.attribute()),
            ));
        }
        _ => {
            return Err(Error::new(
                rest[0].span(),
                format!("{}: expected `async fn name() {{ ... }}`", kind.attribute()),
            ));
        }
    };
    if !args.stream().is_empty() {
        return Err(Error::new(
            args.span(),
            format!("{}: the function cannot take arguments", kind.attribute()),
        ));
    }
    let (body, tail) = match rest[3..].split_last() {
        Some((TokenTree::Group(body), tail)) if body.delimiter() == Delimiter::Brace => {
            (body, tail)
        }
        _ => {
            return Err(Error::new(
                name.span(),
                format!("{}: the function needs a body", kind.attribute()),
            ));
        }
    };

    // The inner `async fn`, with the user's signature and body, and the call that runs it.
    let mut inner: TokenStream = [
        TokenTree::Ident(Ident::new("async", prefix[async_index].span())),
        rest[0].clone(),
        TokenTree::Ident(name.clone()),
        TokenTree::Group(args.clone()),
    ]
    .into_iter()
    .collect();
    inner.extend(tail.iter().cloned());
    inner.extend([TokenTree::Group(body.clone())]);
    inner.extend(options.krate);
    let expect = format!(
        "{}: creating the evloop runtime (an epoll instance and an eventfd)",
        kind.attribute()
    );
    inner.extend(
        format!("::Runtime::new().expect({expect:?}).block_on")
            .parse::<TokenStream>()
            .expect("the runtime call parses"),
    );
    let call: TokenStream = [
        TokenTree::Ident(name.clone()),
        TokenTree::Group(Group::new(Delimiter::Parenthesis, TokenStream::new())),
    ]
    .into_iter()
    .collect();
    inner.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, call))]);

    // The outer function: the attributes, `#[test]` for a test, the prefix without `async`.
    let mut outer = TokenStream::new();
    if kind == Kind::Test {
        outer.extend(
            "#[::core::prelude::v1::test]"
                .parse::<TokenStream>()
                .expect("the test attribute parses"),
        );
    }
    outer.extend(
        prefix
            .iter()
            .enumerate()
            .filter(|&(index, _)| index != async_index)
            .map(|(_, token)| token.clone()),
    );
    outer.extend([
        rest[0].clone(),
        TokenTree::Ident(name.clone()),
        TokenTree::Group(args.clone()),
    ]);
    outer.extend(tail.iter().cloned());
    let mut body = Group::new(Delimiter::Brace, inner);
    body.set_span(body_span(rest));
    outer.extend([TokenTree::Group(body)]);
    Ok(outer)
}

/// The span of the function's body (the last token), for the generated body.
fn body_span(rest: &[TokenTree]) -> Span {
    rest.last().map_or_else(Span::call_site, TokenTree::span)
}

/// Whether the attributes in `prefix` include a plain `#[test]`.
fn has_test_attribute(prefix: &[TokenTree]) -> bool {
    prefix.windows(2).any(|pair| match pair {
        [pound, TokenTree::Group(group)] if is_punct(pound, '#') => {
            let inner: Vec<TokenTree> = group.stream().into_iter().collect();
            matches!(inner.as_slice(), [name] if is_ident(name, "test"))
                || matches!(inner.as_slice(), [.., colon, name]
                    if is_ident(name, "test") && matches!(colon, TokenTree::Punct(p)
                        if p.as_char() == ':' && p.spacing() == Spacing::Alone))
        }
        _ => false,
    })
}

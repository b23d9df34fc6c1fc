//! The `#[whisk::action]` attribute. Use it through the `whisk` library
//! (package `whisk-rs`).
//!
//! The attribute only adapts the signature: it keeps the function as written
//! and generates a `main` beside it that serves it with `whisk::run`,
//! through `whisk::__private::run` (`whisk` or the `crate = "path"`
//! argument). That takes every type of the signature as an explicit generic argument that keeps the span
//! of the user's token, so the compiler reports a type the action cannot use
//! once, at that token, with a message that says what an action needs.
//!
//! Every misuse the attribute can see is a `syn::Error` with the span of the
//! offending tokens, all reported at once. A `main` is emitted even then (an
//! empty one when the function cannot be served), so that no second,
//! confusing error follows, such as "`main` function not found".

use proc_macro::TokenStream;
use proc_macro2::{Ident, Span, TokenStream as TokenStream2, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

/// Turns a function into an OpenWhisk action: generates the `main` that
/// serves it.
///
/// Accepted forms (sync or `async`):
///
/// ```ignore
/// #[whisk::action]
/// fn name(params: P) -> Result<O, E> { ... }
///
/// #[whisk::action]
/// async fn name(params: P, ctx: whisk::Context) -> Result<O, E> { ... }
/// ```
///
/// with `P: serde::de::DeserializeOwned`, `O: serde::Serialize`, and `E`
/// any `Display` type or `whisk::Error`. The result may be spelled through
/// an alias (`type Result<T> = std::result::Result<T, MyError>;`). The
/// function stays callable from your own code and tests.
///
/// Arguments, in any order:
///
/// * `init = path::to::setup`: state built once, passed as the last
///   parameter `whisk::State<S>`;
/// * `tracing`: install the `tracing` subscriber;
/// * `inline` (sync functions only): run the function on the server's
///   thread even when activations may overlap, for quick CPU-only functions
///   (see `whisk::SyncFn::inline`);
/// * `crate = "path"`: the path of the `whisk` library in the generated
///   code, when the crate depends on it under another name
///   (`my_whisk = { package = "whisk-rs", version = "0.1" }` and
///   `#[my_whisk::action(crate = "my_whisk")]`), as for `tokio::main`.
#[proc_macro_attribute]
pub fn action(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into()).into()
}

/// The attribute's arguments: `init = path`, `tracing`, `inline` and
/// `crate = "path"`.
#[derive(Default)]
struct Args {
    /// `crate = "path"`: where the generated code finds the `whisk` library.
    krate: Option<syn::Path>,
    /// The function that builds the action's state.
    init: Option<syn::Path>,
    /// Whether to install the `tracing` subscriber.
    tracing: bool,
    /// Where `inline` was written, if it was.
    inline: Option<Span>,
}

const ARGUMENTS: &str = "`#[whisk::action]` takes `init = path::to::setup` (a function \
     building the state, passed as the last parameter `whisk::State<S>`), `tracing`, `inline` \
     and `crate = \"path\"` (the `whisk` library's name, when the dependency is renamed)";

/// Parses a flag argument (a bare name such as `tracing`).
fn flag(meta: &syn::meta::ParseNestedMeta<'_>, name: &str) -> syn::Result<Span> {
    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
        return Err(meta.error(format!("`{name}` takes no value: write `{name}`")));
    }
    Ok(meta.path.span())
}

fn parse_args(args: TokenStream2, errors: &mut Errors) -> Args {
    use syn::parse::Parser;
    let mut parsed = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("init") {
            if parsed.init.is_some() {
                return Err(meta.error("`init` is given twice"));
            }
            let value = meta
                .value()
                .map_err(|e| syn::Error::new(e.span(), "expected `init = path::to::setup`"))?;
            parsed.init = Some(value.parse().map_err(|e: syn::Error| {
                syn::Error::new(
                    e.span(),
                    "expected a path to the init function, e.g. `init = setup`",
                )
            })?);
            Ok(())
        } else if meta.path.is_ident("crate") {
            if parsed.krate.is_some() {
                return Err(meta.error("`crate` is given twice"));
            }
            let expected = |span| {
                syn::Error::new(
                    span,
                    "expected `crate = \"path\"`, the name of the `whisk` library \
                     in this crate, e.g. `crate = \"my_whisk\"`",
                )
            };
            let value = meta.value().map_err(|e| expected(e.span()))?;
            let literal: syn::LitStr = value.parse().map_err(|e| expected(e.span()))?;
            parsed.krate = Some(literal.parse().map_err(|_: syn::Error| {
                syn::Error::new(
                    literal.span(),
                    format!(
                        "`{}` is not a path: write e.g. `crate = \"my_whisk\"`",
                        literal.value()
                    ),
                )
            })?);
            Ok(())
        } else if meta.path.is_ident("tracing") {
            flag(&meta, "tracing")?;
            parsed.tracing = true;
            Ok(())
        } else if meta.path.is_ident("inline") {
            parsed.inline = Some(flag(&meta, "inline")?);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown argument `{}`: {ARGUMENTS}",
                meta.path.to_token_stream().to_string().replace(' ', "")
            )))
        }
    });
    if let Err(error) = parser.parse2(args) {
        errors.add(error);
    }
    parsed
}

fn expand(args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let mut errors = Errors::default();
    let args = parse_args(args, &mut errors);
    let mut function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            errors.push(
                first_token_span(&item),
                "`#[whisk::action]` goes on a function: `fn name(params: P) -> Result<O, E>`",
            );
            return errors.emit_with(item, empty_main());
        }
    };
    let main = check(&mut function, &args, &mut errors);
    errors.emit_with(function.to_token_stream(), main)
}

/// What the signature allows the attribute to generate.
enum Shape<'a> {
    /// Nothing can be served: emit an empty `main`, so that the only errors
    /// are the attribute's.
    Broken,
    /// A method: it sits in an `impl` or a trait, where a `main` would be
    /// an associated function; emit none.
    Method,
    /// The types to check and serve.
    Served(Signature<'a>),
}

struct Signature<'a> {
    params: &'a Type,
    context: Option<&'a Type>,
    /// The state parameter's type, with `init = ...`.
    state: Option<&'a Type>,
    result: &'a Type,
}

/// Checks the signature; returns the `main` to generate. A function called
/// `main` is renamed, so that the error about its name is the only one.
fn check(function: &mut ItemFn, args: &Args, errors: &mut Errors) -> TokenStream2 {
    if function.sig.ident == "main" {
        errors.push(
            function.sig.ident.span(),
            "the action cannot be called `main`: `#[whisk::action]` generates `main`; \
             rename the function, e.g. `fn handle`",
        );
        function.sig.ident = Ident::new("__whisk_action_named_main", function.sig.ident.span());
    }
    let sig = &function.sig;
    if let (Some(inline), Some(_)) = (args.inline, &sig.asyncness) {
        errors.push(
            inline,
            "`inline` is for sync functions: an `async fn` already runs on the server's thread",
        );
    }
    match shape(sig, args.init.is_some(), errors) {
        Shape::Broken => empty_main(),
        Shape::Method => TokenStream2::new(),
        Shape::Served(signature) => {
            let krate = args
                .krate
                .clone()
                .unwrap_or_else(|| syn::parse_quote!(::whisk));
            entry(&krate, serve(sig, &signature, args, &krate))
        }
    }
}

/// The `main` for a function that cannot be served: empty, so that the
/// attribute's errors are the only ones. Glob-imported like the real one
/// (see [`entry`]), so that a `fn main` of the user's adds no error either.
fn empty_main() -> TokenStream2 {
    quote! {
        #[doc(hidden)]
        mod __whisk_main {
            pub fn main() {}
        }
        #[allow(unused_imports)]
        use __whisk_main::*;
    }
}

/// The generated `main` around `body`, which serves the action.
///
/// `main` is defined in a hidden module and glob-imported, so that a
/// `fn main` the user also wrote shadows it instead of clashing with it (a
/// bare "the name `main` is defined multiple times"). The generated `main`
/// returns `__private::Main`, which no other `main` does: the check below
/// then fails, for the user's `main`, with a message that says what to do.
fn entry(krate: &syn::Path, body: TokenStream2) -> TokenStream2 {
    quote! {
        #[doc(hidden)]
        fn __whisk_serve() -> ::std::process::ExitCode {
            #body
        }
        #[doc(hidden)]
        mod __whisk_main {
            pub fn main() -> #krate::__private::Main {
                #krate::__private::Main(super::__whisk_serve())
            }
        }
        #[allow(unused_imports)]
        use __whisk_main::*;
        const _: () = #krate::__private::generated_main(&main);
    }
}

fn shape<'a>(sig: &'a syn::Signature, stateful: bool, errors: &mut Errors) -> Shape<'a> {
    let most = if stateful { 3 } else { 2 };
    let mut broken = false;
    if !sig.generics.params.is_empty() {
        broken = true;
        errors.push_spanned(
            &sig.generics,
            "an action cannot be generic: its parameter and result types must be concrete",
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        broken = true;
        errors.push_spanned(
            where_clause,
            "an action cannot have a `where` clause: its parameter and result types must be concrete",
        );
    }
    // `const` and `extern "C"` functions can still be served: report them,
    // and check the types all the same.
    if let Some(constness) = &sig.constness {
        errors.push(constness.span, "an action cannot be a `const fn`");
    }
    if let Some(abi) = &sig.abi {
        errors.push_spanned(abi, "an action cannot have an `extern` ABI");
    }
    if let Some(unsafety) = &sig.unsafety {
        broken = true;
        errors.push(unsafety.span, "an action cannot be an `unsafe fn`");
    }
    if let Some(variadic) = &sig.variadic {
        broken = true;
        errors.push_spanned(variadic, "an action cannot be variadic");
    }

    let mut method = false;
    let mut types = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                method = true;
                errors.push_spanned(
                    receiver,
                    "an action is a free function, not a method: remove `self` \
                     and move the function out of the `impl`",
                );
            }
            FnArg::Typed(typed) if index >= most => {
                broken = true;
                errors.push_spanned(
                    typed,
                    if stateful {
                        "an action with `init = ...` takes at most three parameters: \
                         `(params: P, state: whisk::State<S>)` or \
                         `(params: P, ctx: whisk::Context, state: whisk::State<S>)`"
                    } else if ends_with(&typed.ty, "State") {
                        "a third parameter `whisk::State<S>` needs `init = ...`: write \
                         `#[whisk::action(init = setup)]`, where `fn setup() -> Result<S, E>` \
                         builds the state once"
                    } else {
                        "an action takes at most two parameters: `(params: P)` or \
                         `(params: P, ctx: whisk::Context)`, and a third, \
                         `state: whisk::State<S>`, with `#[whisk::action(init = setup)]`"
                    },
                );
            }
            FnArg::Typed(typed) if has_impl_trait(&typed.ty) => {
                broken = true;
                errors.push_spanned(
                    &typed.ty,
                    "an action cannot be generic: `impl Trait` in a parameter is a type \
                     parameter; name the concrete type",
                );
            }
            // The type checks would say "not general enough", at the attribute.
            FnArg::Typed(typed) if index == 0 && matches!(&*typed.ty, Type::Reference(_)) => {
                broken = true;
                errors.push_spanned(
                    &typed.ty,
                    "an action's parameters are deserialized into an owned value: \
                     take an owned type, e.g. `String` rather than `&str`",
                );
            }
            // `(ctx: Context, p: P)`: say "swap them", and nothing else
            // (`Context` is not `Deserialize` would follow otherwise).
            FnArg::Typed(typed)
                if index == 0
                    && ends_with(&typed.ty, "Context")
                    && sig.inputs.iter().nth(1).is_some_and(
                        |second| matches!(second, FnArg::Typed(t) if !ends_with(&t.ty, "Context")),
                    ) =>
            {
                broken = true;
                errors.push_spanned(
                    &sig.inputs,
                    "the parameters are in the wrong order: the action's parameters come \
                     first, then the context; swap them: `(params: P, ctx: whisk::Context)`",
                );
            }
            FnArg::Typed(typed) => types.push(&*typed.ty),
        }
    }
    if sig.inputs.is_empty() && returns_router(&sig.output) {
        // An app is not an action of parameters: `web::service` serves it
        // (one line in `main`), so the attribute does not take it.
        broken = true;
        errors.push(
            sig.paren_token.span.join(),
            "an axum app is served with `whisk::web::service`, not this attribute: remove \
             `#[whisk::action]` and write `fn main() -> std::process::ExitCode { \
             whisk::run(whisk::web::service(app())) }`",
        );
    } else if sig.inputs.is_empty() {
        broken = true;
        errors.push(
            sig.paren_token.span.join(),
            "an action takes its parameters: `(params: P)` or `(params: P, ctx: whisk::Context)`; \
             use `serde_json::Value` to accept anything",
        );
    }
    let result = match &sig.output {
        ReturnType::Type(_, ty) => Some(&**ty),
        ReturnType::Default => {
            broken = true;
            errors.push(
                sig.paren_token.span.close(),
                "an action must return `Result<Output, Error>`: add a return type",
            );
            None
        }
    };

    if stateful && types.len() == 1 && !broken {
        broken = true;
        errors.push(
            sig.paren_token.span.join(),
            "with `init = ...` the action takes the state as its last parameter: \
             `(params: P, state: whisk::State<S>)` or \
             `(params: P, ctx: whisk::Context, state: whisk::State<S>)`",
        );
    }

    match (method, broken, result) {
        (true, _, _) => Shape::Method,
        (false, false, Some(result)) if !types.is_empty() => {
            let (context, state) = match (stateful, types.len()) {
                (true, 3) => (Some(types[1]), Some(types[2])),
                (true, _) => (None, types.get(1).copied()),
                (false, _) => (types.get(1).copied(), None),
            };
            Shape::Served(Signature {
                params: types[0],
                context,
                state,
                result,
            })
        }
        _ => Shape::Broken,
    }
}

/// The body of the generated `main`: the function goes to
/// `whisk::__private::run` with each type of its signature as a generic argument that
/// keeps the span of the user's token, so that a type the action cannot
/// use is reported once, there, with the message of the bound it misses.
fn serve(
    sig: &syn::Signature,
    signature: &Signature,
    args: &Args,
    krate: &syn::Path,
) -> TokenStream2 {
    let name = &sig.ident;
    let params = signature.params;
    // Always a closure, whose parameter types come from the generic
    // arguments (a function item would not do for an `extern "C" fn`). With
    // one parameter, the closure ignores the context; with two, `C` is the
    // type written in the signature, which `ActionContext` checks.
    // Whether the function reads the context also tells the runtime
    // whether to read the activation's metadata for it.
    let (context, context_pattern, context_argument, reads_context) = match signature.context {
        Some(context) => (
            context.to_token_stream(),
            quote!(__whisk_ctx),
            quote!(, __whisk_ctx),
            true,
        ),
        None => (quote!(#krate::Context), quote!(_), quote!(), false),
    };
    // With `init = ...`, the closure also takes the state (type `St`,
    // checked by `ActionState`), and the init function comes first; without,
    // `St` is `NoState` and the closure ignores it. `I` and `M` (the init
    // function and its kind) are inferred.
    let (state, state_pattern, state_argument, init) = match (signature.state, &args.init) {
        (Some(state), Some(init)) => (
            state.to_token_stream(),
            quote!(__whisk_state),
            quote!(, __whisk_state),
            quote!(#init),
        ),
        _ => (
            quote!(#krate::__private::NoState),
            quote!(_),
            quote!(),
            quote!(#krate::__private::NoInit),
        ),
    };
    let function = quote!(
        |__whisk_params, #context_pattern, #state_pattern| #name(__whisk_params #context_argument #state_argument)
    );
    let (result, output, error) = result_types(signature.result);
    // An async function's future must be `Send`: `F`'s bound says so, at
    // `async`.
    let (kind, function_type, inline) = match &sig.asyncness {
        Some(asyncness) => (
            quote!(#krate::__private::Async<_>),
            quote_spanned!(asyncness.span=> _),
            false,
        ),
        None => (
            quote!(#krate::__private::Blocking),
            quote!(_),
            args.inline.is_some(),
        ),
    };
    let call = quote! {
        #krate::__private::run::<#params, #context, #state, #result, #output, #error, #kind, #function_type, _, _>(
            #krate::__private::Options { inline: #inline, reads_context: #reads_context },
            #init,
            #function
        )
    };
    let tracing = args
        .tracing
        .then(|| quote!(#krate::__private::init_tracing();));
    quote! {
        #tracing
        #call
    }
}

/// The result, output and error types as generic arguments: spelled out
/// when the signature spells them (`Result<O, E>`), otherwise inferred (`_`
/// with the span of the return type, for an alias such as `io::Result<T>`).
/// `impl Trait` cannot be named in a generic argument, so it is inferred too.
fn result_types(result: &Type) -> (TokenStream2, TokenStream2, TokenStream2) {
    let infer = |ty: &Type| {
        let span = ty.span();
        quote_spanned!(span=> _)
    };
    let nameable = |ty: &Type| {
        if has_impl_trait(ty) {
            infer(ty)
        } else {
            ty.to_token_stream()
        }
    };
    let (output, error) = match result_arguments(result) {
        Some((output, error)) => (nameable(output), nameable(error)),
        None => (infer(result), infer(result)),
    };
    (nameable(result), output, error)
}

/// `Some((Output, Error))` when `ty` is spelled `Result<Output, Error>`
/// (any path ending in `Result` with two type arguments).
fn result_arguments(ty: &Type) -> Option<(&Type, &Type)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(Some(output)), Some(Some(error)), None) => Some((output, error)),
        _ => None,
    }
}

/// Whether the type is a path whose last segment is `name` (`Context`,
/// `whisk::Context`, `State<S>`): what the attribute can tell from the
/// tokens alone.
fn ends_with(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none()
        && path.path.segments.last().is_some_and(|last| last.ident == name))
}

/// Whether `impl Trait` appears anywhere in the type.
fn has_impl_trait(ty: &Type) -> bool {
    fn walk(tokens: TokenStream2) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => ident == "impl",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

fn first_token_span(tokens: &TokenStream2) -> Span {
    tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

/// All the errors found, reported together.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    /// An error at one token.
    fn push(&mut self, span: Span, message: &str) {
        self.add(syn::Error::new(span, message));
    }

    /// An error that underlines all of `tokens`, from the first to the last.
    fn push_spanned(&mut self, tokens: impl ToTokens, message: &str) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The item as written, the generated `main`, and the errors.
    fn emit_with(self, item: TokenStream2, main: TokenStream2) -> TokenStream2 {
        let errors = self.0.map(|e| e.to_compile_error());
        quote!(#item #main #errors)
    }
}

/// Whether a function returns a type named `Router` (an axum app), for the
/// hint that `web::service` serves it.
fn returns_router(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => match &**ty {
            syn::Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "Router"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: &str, item: &str) -> String {
        let args: TokenStream2 = args.parse().unwrap();
        let item: TokenStream2 = item.parse().unwrap();
        expand(args, item).to_string()
    }

    fn errors(expanded: &str) -> usize {
        expanded.matches("compile_error").count()
    }

    #[test]
    fn a_valid_action_gets_a_main_and_no_error() {
        let out = expand_str("", "fn f(p: Value) -> Result<Value, String> { Ok(p) }");
        assert_eq!(errors(&out), 0, "{out}");
        assert!(
            out.contains("fn __whisk_serve () -> :: std :: process :: ExitCode"),
            "{out}"
        );
        assert!(
            out.contains("pub fn main () -> :: whisk :: __private :: Main"),
            "{out}"
        );
        assert!(out.contains("run :: < Value , :: whisk :: Context , :: whisk :: __private :: NoState , Result < Value , String > , Value , String , :: whisk :: __private :: Blocking , _ , _ , _ >"), "{out}");
        // Not inline; the function takes no context, so it reads none.
        assert!(
            out.contains("Options { inline : false , reads_context : false } , :: whisk :: __private :: NoInit , | __whisk_params , _ , _ | f (__whisk_params))"),
            "{out}"
        );
    }

    #[test]
    fn an_async_action_goes_to_run_as_async() {
        let out = expand_str(
            "",
            "async fn f(p: Value, c: whisk::Context) -> Result<Value, String> { Ok(p) }",
        );
        assert_eq!(errors(&out), 0, "{out}");
        assert!(out.contains("run :: < Value , whisk :: Context ,"), "{out}");
        assert!(
            out.contains(":: whisk :: __private :: Async < _ > , _ , _ , _ >"),
            "{out}"
        );
        // It takes the context, so it reads it.
        assert!(
            out.contains(
                "reads_context : true } , :: whisk :: __private :: NoInit , | __whisk_params , __whisk_ctx , _ | f (__whisk_params , __whisk_ctx))"
            ),
            "{out}"
        );
    }

    #[test]
    fn every_misuse_is_reported_and_a_main_is_still_emitted() {
        let out = expand_str(
            "x",
            "async unsafe fn main<T>(p: Value, c: whisk::Context, x: T) where T: Copy {}",
        );
        // arguments, name, generics, where clause, unsafe, third parameter,
        // return type.
        assert_eq!(errors(&out), 7, "{out}");
        assert!(out.contains("pub fn main () { }"), "{out}");
        assert!(out.contains("fn __whisk_action_named_main"), "{out}");
    }

    #[test]
    fn not_a_function_keeps_the_item_and_emits_main() {
        let out = expand_str("", "struct S;");
        assert_eq!(errors(&out), 1, "{out}");
        assert!(out.starts_with("struct S ;"), "{out}");
        assert!(out.contains("pub fn main () { }"), "{out}");
    }

    #[test]
    fn crate_names_the_library_in_every_generated_path() {
        let out = expand_str(
            "crate = \"my_whisk\", tracing",
            "fn f(p: Value) -> Result<Value, String> { Ok(p) }",
        );
        assert_eq!(errors(&out), 0, "{out}");
        assert!(!out.contains(":: whisk ::"), "{out}");
        assert!(out.contains("my_whisk :: __private :: run ::"), "{out}");
        assert!(
            out.contains("my_whisk :: __private :: init_tracing"),
            "{out}"
        );
        assert!(out.contains("my_whisk :: Context"), "{out}");
        assert!(out.contains("my_whisk :: __private :: Main"), "{out}");
    }

    #[test]
    fn crate_takes_a_string_holding_a_path() {
        let item = "fn f(p: Value) -> Result<Value, String> { Ok(p) }";
        for (args, message) in [
            ("crate = my_whisk", "expected `crate = \\\"path\\\"`"),
            ("crate = \"not a path\"", "`not a path` is not a path"),
            ("crate = \"a\", crate = \"b\"", "`crate` is given twice"),
        ] {
            let out = expand_str(args, item);
            assert_eq!(errors(&out), 1, "{args}: {out}");
            assert!(out.contains(message), "{args}: {out}");
        }
    }

    #[test]
    fn context_first_is_one_error_saying_swap() {
        let out = expand_str(
            "",
            "fn f(ctx: whisk::Context, p: Value) -> Result<Value, String> { Ok(p) }",
        );
        assert_eq!(errors(&out), 1, "{out}");
        assert!(out.contains("swap them"), "{out}");
        assert!(!out.contains("run_sync"), "{out}");
    }

    #[test]
    fn a_method_gets_no_main() {
        let out = expand_str(
            "",
            "fn f(&self, p: Value) -> Result<Value, String> { Ok(p) }",
        );
        assert_eq!(errors(&out), 1, "{out}");
        assert!(!out.contains("fn main"), "{out}");
    }

    #[test]
    fn result_arguments_only_when_spelled_out() {
        let ty = |s: &str| syn::parse_str::<Type>(s).unwrap();
        let spelled = |s: &str| {
            result_arguments(&ty(s)).map(|(o, e)| {
                (
                    o.to_token_stream().to_string(),
                    e.to_token_stream().to_string(),
                )
            })
        };
        assert_eq!(
            spelled("Result<Value, String>"),
            Some(("Value".into(), "String".into()))
        );
        assert_eq!(
            spelled("std::result::Result<Vec<u8>, whisk::Error>"),
            Some(("Vec < u8 >".into(), "whisk :: Error".into()))
        );
        assert_eq!(spelled("io::Result<Value>"), None);
        assert_eq!(spelled("R<Value>"), None);
        assert_eq!(spelled("String"), None);
        assert_eq!(spelled("<X as Y>::Result<A, B>"), None);
    }

    #[test]
    fn impl_trait_is_found_at_any_depth() {
        let ty = |s: &str| syn::parse_str::<Type>(s).unwrap();
        assert!(has_impl_trait(&ty("impl Serialize")));
        assert!(has_impl_trait(&ty("Result<impl Serialize, String>")));
        assert!(has_impl_trait(&ty("Vec<(u8, impl Debug)>")));
        assert!(!has_impl_trait(&ty("Result<Vec<u8>, Box<dyn Error>>")));
    }
}

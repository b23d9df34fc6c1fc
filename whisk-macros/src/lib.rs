//! The `#[whisk::action]` attribute. Use it through the `whisk` crate.
//!
//! The attribute only adapts the signature: it keeps the function as written
//! and generates a `main` beside it that calls `whisk::run` with
//! `whisk::sync_fn` or `whisk::async_fn`. Every misuse is a `syn::Error` with
//! the span of the offending token, all reported at once; a `main` is emitted
//! even then, so no second, confusing error follows.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, format_ident, quote, quote_spanned};
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
/// any `Display` type or `whisk::Error`. The function stays callable from
/// your own code and tests.
#[proc_macro_attribute]
pub fn action(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into()).into()
}

fn expand(args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.push(
            args.span(),
            "`#[whisk::action]` takes no arguments: write `#[whisk::action]`",
        );
    }
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            errors.push(
                first_token_span(&item),
                "`#[whisk::action]` goes on a function: `fn name(params: P) -> Result<O, E>`",
            );
            return errors.emit_with(
                item,
                quote!(
                    fn main() {}
                ),
            );
        }
    };
    let main = check(&function, &mut errors);
    errors.emit_with(function.to_token_stream(), main)
}

/// Checks the signature; returns the `main` to generate (a plain empty one
/// when there are errors).
fn check(function: &ItemFn, errors: &mut Errors) -> TokenStream2 {
    let sig = &function.sig;
    let name = &sig.ident;
    if name == "main" {
        errors.push(
            name.span(),
            "the action cannot be called `main`: `#[whisk::action]` generates `main`; \
             rename the function, e.g. `fn handle`",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(
            sig.generics.span(),
            "an action cannot be generic: its parameter and result types must be concrete",
        );
    }
    if let Some(constness) = &sig.constness {
        errors.push(constness.span(), "an action cannot be a `const fn`");
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(unsafety.span(), "an action cannot be an `unsafe fn`");
    }
    if let Some(abi) = &sig.abi {
        errors.push(abi.span(), "an action cannot have an `extern` ABI");
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(variadic.span(), "an action cannot be variadic");
    }

    let mut types = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => errors.push(
                receiver.span(),
                "an action is a free function, not a method: remove `self`",
            ),
            FnArg::Typed(typed) if index >= 2 => errors.push(
                typed.span(),
                "an action takes at most two parameters: `(params: P)` or \
                 `(params: P, ctx: whisk::Context)`",
            ),
            FnArg::Typed(typed) => types.push(&*typed.ty),
        }
    }
    if sig.inputs.is_empty() {
        errors.push(
            sig.paren_token.span.join(),
            "an action takes its parameters: `(params: P)` or `(params: P, ctx: whisk::Context)`; \
             use `serde_json::Value` to accept anything",
        );
    }

    let result = match &sig.output {
        ReturnType::Default => {
            errors.push(
                sig.paren_token.span.close(),
                "an action must return `Result<Output, Error>`: add a return type",
            );
            None
        }
        ReturnType::Type(_, ty) => match result_arguments(ty) {
            Some(arguments) => Some(arguments),
            None => {
                errors.push(
                    ty.span(),
                    "an action must return `Result<Output, Error>` (Output: Serialize, \
                     Error: Display or whisk::Error)",
                );
                None
            }
        },
    };

    if errors.any() {
        return quote!(
            fn main() {}
        );
    }

    let params = format_ident!("__whisk_params");
    let ctx = format_ident!("__whisk_ctx");
    let param_ty = types[0];
    let call = if types.len() == 2 {
        quote!(#name(#params, #ctx))
    } else {
        quote!(#name(#params))
    };
    let constructor = if sig.asyncness.is_some() {
        quote!(::whisk::async_fn)
    } else {
        quote!(::whisk::sync_fn)
    };
    let mut assertions = vec![quote_spanned! {param_ty.span()=>
        ::whisk::__private::assert_params::<#param_ty>();
    }];
    if let Some(ctx_ty) = types.get(1) {
        assertions.push(quote_spanned! {ctx_ty.span()=>
            ::whisk::__private::assert_context::<#ctx_ty>();
        });
    }
    if let Some((output, error)) = result {
        if let Some(output) = output {
            assertions.push(quote_spanned! {output.span()=>
                ::whisk::__private::assert_output::<#output>();
            });
        }
        if let Some(error) = error {
            assertions.push(quote_spanned! {error.span()=>
                ::whisk::__private::assert_error::<#error>();
            });
        }
    }
    let main_span = Span::call_site();
    quote_spanned! {main_span=>
        fn main() -> ::std::process::ExitCode {
            #(#assertions)*
            ::whisk::run(#constructor(|#params: #param_ty, #ctx: ::whisk::Context| #call))
        }
    }
}

/// `Some((Output, Error))` when `ty` is a path ending in `Result`; either
/// argument is `None` when not spelled out (a `Result<T>` alias).
fn result_arguments(ty: &Type) -> Option<(Option<&Type>, Option<&Type>)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let mut types = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect::<Vec<_>>()
            .into_iter(),
        _ => Vec::new().into_iter(),
    };
    Some((types.next(), types.next()))
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
    fn push(&mut self, span: Span, message: &str) {
        let error = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn any(&self) -> bool {
        self.0.is_some()
    }

    /// The item as written, the generated `main`, and the errors.
    fn emit_with(self, item: TokenStream2, main: TokenStream2) -> TokenStream2 {
        let errors = self.0.map(|e| e.to_compile_error());
        quote!(#item #main #errors)
    }
}

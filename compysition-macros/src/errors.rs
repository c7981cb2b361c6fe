//! Mistakes collected across a pass and reported together, so one build shows them all.

/// Every error found so far, combined into one `syn::Error`.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds one more error, after those collected before it.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The value of `result`, or `None` with its error collected.
    pub fn keep<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// `compile_error!` invocations, one per error (nothing if there is none).
    pub fn into_compile_errors(self) -> proc_macro2::TokenStream {
        self.0
            .map(|errors| errors.to_compile_error())
            .unwrap_or_default()
    }

    /// `Err` with every collected error, if there was one.
    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

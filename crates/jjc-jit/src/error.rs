//! What can go wrong while compiling a kernel.

use jjc_kernel::ir::VerifyError;

/// Why a kernel could not be compiled to native code.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    /// Cranelift has no backend for this machine, or the host cannot run the code it makes.
    #[error("unsupported host for the JIT: {0}")]
    UnsupportedIsa(String),
    /// The kernel IR of one function is not well formed.
    #[error("invalid kernel IR in `{function}`: {error}")]
    InvalidIr {
        /// `update` or `finish`.
        function: &'static str,
        /// What the IR verifier found.
        error: VerifyError,
    },
    /// The kernel is too big for the code generator (a slot or cell offset beyond 2 GiB).
    #[error("kernel too large for the JIT: {0}")]
    TooLarge(String),
    /// The generated Cranelift function did not pass Cranelift's verifier (a bug in the
    /// lowering); the text holds the function with the errors marked.
    #[error("Cranelift verifier rejected `{function}`:\n{text}")]
    Verifier {
        /// `update` or `finish`.
        function: &'static str,
        /// The CLIF text with the verifier's errors.
        text: String,
    },
    /// Cranelift failed to compile, link or map the code.
    #[error("Cranelift failed on `{function}`: {message}")]
    Codegen {
        /// `update`, `finish`, or `module` for linking.
        function: &'static str,
        /// Cranelift's message.
        message: String,
    },
}

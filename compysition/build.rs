//! Builds the small C side of the libxslt/libxml2 binding (`csrc/xslt_shim.c`) when the `xslt`
//! feature is on, against the system libraries found with `pkg-config`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "xslt")]
    xslt::build();
}

#[cfg(feature = "xslt")]
mod xslt {
    const HINT: &str = "the `xslt` feature needs libxslt, libexslt and libxml2 with their headers \
                        (Debian: apt-get install libxml2-dev libxslt1-dev pkg-config)";

    pub fn build() {
        println!("cargo:rerun-if-changed=csrc/xslt_shim.c");
        let mut include_paths = Vec::new();
        for library in ["libxslt", "libexslt", "libxml-2.0"] {
            match pkg_config::Config::new().probe(library) {
                Ok(found) => include_paths.extend(found.include_paths),
                Err(error) => panic!("{HINT}: {error}"),
            }
        }
        let mut shim = cc::Build::new();
        shim.file("csrc/xslt_shim.c")
            .includes(include_paths)
            .warnings(true)
            .extra_warnings(true)
            .flag_if_supported("-Wno-unused-parameter");
        shim.compile("compysition_xslt_shim");
    }
}

/*
 * The C side of compysition's libxslt/libxml2 binding.
 *
 * libxml2 and libxslt report errors through variadic printf-style callbacks, which Rust cannot
 * define, and their most useful switches (template depth, security preferences, the shape of a
 * result tree) live in struct fields. This file keeps all of that on the C side and offers Rust a
 * handful of plain functions: compile, transform, validate, evaluate, free.
 *
 * Messages: every entry point sets a thread-local collector before calling into the libraries
 * and clears it afterwards; every error callback appends to it. Nothing is written to stderr,
 * and two transforms on two threads never see each other's messages.
 *
 * Network: a process-wide entity loader refuses every URL that is not a local file unless the
 * operation in progress on this thread was allowed to read from the network.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxslt/imports.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/variables.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>
#include <libexslt/exslt.h>

/* Collected messages: newline-separated text, owned by the caller (see cx_messages_free). */
typedef struct {
    char *text;
    size_t len;
    size_t cap;
    int count;
} cx_messages;

/* Longest text kept per operation: a stylesheet in a loop of xsl:message must not eat memory. */
#define CX_MESSAGES_MAX (64 * 1024)

static __thread cx_messages *cx_current = NULL;
static __thread int cx_network_allowed = 0;
static __thread int cx_denied = 0;

static void cx_append(const char *text, size_t n) {
    cx_messages *m = cx_current;
    if (m == NULL || n == 0) return;
    if (m->len >= CX_MESSAGES_MAX) return;
    if (m->len + n > CX_MESSAGES_MAX) n = CX_MESSAGES_MAX - m->len;
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + n + 1) cap *= 2;
        char *grown = realloc(m->text, cap);
        if (grown == NULL) return;
        m->text = grown;
        m->cap = cap;
    }
    memcpy(m->text + m->len, text, n);
    m->len += n;
    m->text[m->len] = '\0';
}

static void cx_vappend(const char *fmt, va_list args) {
    char buf[2048];
    int n = vsnprintf(buf, sizeof buf, fmt, args);
    if (n < 0) return;
    cx_append(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* libxml2 and libxslt generic errors: printf-style pieces of one message. */
static void cx_generic_error(void *ctx, const char *fmt, ...) {
    (void)ctx;
    va_list args;
    va_start(args, fmt);
    cx_vappend(fmt, args);
    va_end(args);
    if (cx_current != NULL && strchr(fmt, '\n') != NULL) cx_current->count++;
}

static void cx_appendf(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    cx_vappend(fmt, args);
    va_end(args);
}

/* libxml2 structured errors: one complete error with its position. */
static void cx_structured_error(void *ctx, xmlErrorPtr error) {
    (void)ctx;
    if (error == NULL || cx_current == NULL) return;
    const char *level = error->level == XML_ERR_WARNING ? "warning: " : "";
    const char *message = error->message ? error->message : "unknown error\n";
    if (error->file != NULL && error->line > 0)
        cx_appendf("%s:%d: %s%s", error->file, error->line, level, message);
    else if (error->line > 0)
        cx_appendf("line %d: %s%s", error->line, level, message);
    else
        cx_appendf("%s%s", level, message);
    size_t n = strlen(message);
    if (n == 0 || message[n - 1] != '\n') cx_append("\n", 1);
    cx_current->count++;
}

static xmlExternalEntityLoader cx_default_loader = NULL;

static int cx_is_local(const char *url) {
    if (url == NULL) return 1;
    if (strncmp(url, "file:", 5) == 0) return 1;
    /* A scheme is letters followed by "://"; anything else is a path. */
    const char *p = url;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) p++;
    return !(p != url && strncmp(p, "://", 3) == 0);
}

static xmlParserInputPtr cx_entity_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
    if (!cx_network_allowed && !cx_is_local(url)) {
        cx_appendf("refused to load \"%s\": network access is not allowed\n", url);
        if (cx_current != NULL) cx_current->count++;
        return NULL;
    }
    return cx_default_loader(url, id, ctxt);
}

void cx_init(void) {
    xmlInitParser();
    xsltInit();
    exsltRegisterAll();
    cx_default_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(cx_entity_loader);
    /* libxslt's error callback is process-wide; it appends to the calling thread's collector. */
    xsltSetGenericErrorFunc(NULL, cx_generic_error);
    /* Defaults for threads created from now on; each entry point also sets its own thread's. */
    xmlThrDefSetGenericErrorFunc(NULL, cx_generic_error);
    xmlThrDefSetStructuredErrorFunc(NULL, cx_structured_error);
}

static void cx_begin(cx_messages *messages, int network_allowed) {
    cx_current = messages;
    cx_network_allowed = network_allowed;
    cx_denied = 0;
    xmlSetGenericErrorFunc(NULL, cx_generic_error);
    xmlSetStructuredErrorFunc(NULL, cx_structured_error);
}

static void cx_end(void) {
    cx_current = NULL;
    cx_network_allowed = 0;
}

void cx_messages_free(cx_messages *messages) {
    free(messages->text);
    messages->text = NULL;
    messages->len = messages->cap = 0;
    messages->count = 0;
}

void cx_free(void *p) {
    if (p != NULL) xmlFree(p);
}

static xmlDocPtr cx_read(const char *bytes, int len, const char *base_url, int options) {
    xmlParserCtxtPtr parser = xmlNewParserCtxt();
    if (parser == NULL) {
        cx_appendf("out of memory\n");
        return NULL;
    }
    xmlDocPtr doc = xmlCtxtReadMemory(parser, bytes, len, base_url, NULL, options);
    if (doc != NULL && !parser->wellFormed) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(parser);
    return doc;
}

/* ---------------------------------------------------------------- stylesheets */

xsltStylesheetPtr cx_compile(const char *xsl, int len, const char *base_url, cx_messages *messages) {
    cx_begin(messages, 0);
    xsltStylesheetPtr style = NULL;
    xmlDocPtr doc = cx_read(xsl, len, base_url, XSLT_PARSE_OPTIONS | XML_PARSE_NONET);
    if (doc != NULL) {
        style = xsltParseStylesheetDoc(doc);
        if (style == NULL) {
            /* On failure the document is still ours. */
            xmlFreeDoc(doc);
        } else if (style->errors != 0) {
            xsltFreeStylesheet(style);
            style = NULL;
        }
    }
    cx_end();
    return style;
}

void cx_stylesheet_free(xsltStylesheetPtr style) {
    if (style != NULL) xsltFreeStylesheet(style);
}

/* xsl:output method, looked up through imports as the serialiser does:
 * 0 unspecified, 1 xml, 2 html, 3 text, 4 another (xhtml, a qualified name). */
int cx_stylesheet_method(xsltStylesheetPtr style) {
    const xmlChar *method = NULL;
    const xmlChar *method_uri = NULL;
    XSLT_GET_IMPORT_PTR(method, style, method)
    XSLT_GET_IMPORT_PTR(method_uri, style, methodURI)
    if (method == NULL) return 0;
    if (method_uri != NULL) return 4;
    if (xmlStrEqual(method, (const xmlChar *)"xml")) return 1;
    if (xmlStrEqual(method, (const xmlChar *)"html")) return 2;
    if (xmlStrEqual(method, (const xmlChar *)"text")) return 3;
    return 4;
}

/* xsl:output encoding, or NULL when the stylesheet does not set one. */
const char *cx_stylesheet_encoding(xsltStylesheetPtr style) {
    const xmlChar *encoding = NULL;
    XSLT_GET_IMPORT_PTR(encoding, style, encoding)
    return (const char *)encoding;
}

typedef struct {
    int parse_options;
    int max_depth;
    int allow_read_file;
    int allow_write_file;
    int allow_create_directory;
    int allow_read_network;
    int allow_write_network;
    const char *base_url;
    /* name, value, name, value, ..., NULL: values are strings, not XPath expressions. */
    const char **params;
} cx_transform_options;

/* What the result tree is, for a caller that wants an XML document. */
enum {
    CX_RESULT_NONE = 0,     /* no result document */
    CX_RESULT_DOCUMENT = 1, /* one element at the top, nothing but white space and comments/PIs */
    CX_RESULT_OTHER = 2,    /* several elements, text at the top, or none */
    CX_RESULT_HTML = 3,     /* an HTML result (method html, or unspecified with an <html> root) */
};

typedef struct {
    xmlChar *bytes; /* cx_free */
    int len;
    int shape;
    int failed; /* a runtime error or xsl:message terminate="yes" */
    int denied; /* a security preference refused an operation */
} cx_output;

static int cx_deny(xsltTransformContextPtr ctxt, const char *what, const char *value) {
    cx_appendf("security: %s is not allowed: %s\n", what, value ? value : "");
    if (cx_current != NULL) cx_current->count++;
    cx_denied = 1;
    if (ctxt != NULL) ctxt->state = XSLT_STATE_STOPPED;
    return 0;
}

static int cx_deny_read_file(xsltSecurityPrefsPtr sec, xsltTransformContextPtr ctxt, const char *value) {
    (void)sec;
    return cx_deny(ctxt, "reading files", value);
}
static int cx_deny_write_file(xsltSecurityPrefsPtr sec, xsltTransformContextPtr ctxt, const char *value) {
    (void)sec;
    return cx_deny(ctxt, "writing files", value);
}
static int cx_deny_create_directory(xsltSecurityPrefsPtr sec, xsltTransformContextPtr ctxt, const char *value) {
    (void)sec;
    return cx_deny(ctxt, "creating directories", value);
}
static int cx_deny_read_network(xsltSecurityPrefsPtr sec, xsltTransformContextPtr ctxt, const char *value) {
    (void)sec;
    return cx_deny(ctxt, "reading from the network", value);
}
static int cx_deny_write_network(xsltSecurityPrefsPtr sec, xsltTransformContextPtr ctxt, const char *value) {
    (void)sec;
    return cx_deny(ctxt, "writing to the network", value);
}

static int cx_result_shape(xmlDocPtr result) {
    if (result->type == XML_HTML_DOCUMENT_NODE) return CX_RESULT_HTML;
    int elements = 0;
    for (xmlNodePtr node = result->children; node != NULL; node = node->next) {
        switch (node->type) {
        case XML_ELEMENT_NODE:
            elements++;
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
        case XML_DTD_NODE:
            break;
        case XML_TEXT_NODE:
            if (!xmlIsBlankNode(node)) return CX_RESULT_OTHER;
            break;
        default:
            return CX_RESULT_OTHER;
        }
    }
    return elements == 1 ? CX_RESULT_DOCUMENT : CX_RESULT_OTHER;
}

/* Returns 0 when a transform ran (see output->failed), -1 when the input could not be parsed,
 * -2 when the transform could not start for reasons of its own (out of memory, security
 * preferences or parameters libxslt refused): the caller blames the input only for -1. */
int cx_transform(xsltStylesheetPtr style, const char *input, int len,
                 const cx_transform_options *options, cx_output *output, cx_messages *messages) {
    memset(output, 0, sizeof *output);
    cx_begin(messages, options->allow_read_network);
    int status = -1;
    xmlDocPtr doc = NULL;
    xsltTransformContextPtr ctxt = NULL;
    xsltSecurityPrefsPtr sec = NULL;
    xmlDocPtr result = NULL;

    doc = cx_read(input, len, options->base_url, options->parse_options);
    if (doc == NULL) goto done;
    status = -2;
    ctxt = xsltNewTransformContext(style, doc);
    sec = xsltNewSecurityPrefs();
    if (ctxt == NULL || sec == NULL) {
        cx_appendf("out of memory\n");
        goto done;
    }
    if (options->max_depth > 0) ctxt->maxTemplateDepth = options->max_depth;
    /* Documents the stylesheet loads with document() are parsed like its input (libxslt's own
     * default substitutes entities and loads DTDs: external entities, through a URI the input
     * may choose); --noent/--loaddtd of the transform tool turn those on for both, as in
     * xsltproc. */
    ctxt->parserOptions = options->parse_options;
    if (!options->allow_read_file) xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_FILE, cx_deny_read_file);
    if (!options->allow_write_file) xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_FILE, cx_deny_write_file);
    if (!options->allow_create_directory)
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_CREATE_DIRECTORY, cx_deny_create_directory);
    if (!options->allow_read_network)
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_NETWORK, cx_deny_read_network);
    if (!options->allow_write_network)
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_NETWORK, cx_deny_write_network);
    if (xsltSetCtxtSecurityPrefs(sec, ctxt) != 0) goto done;
    /* A parameter libxslt refuses (a prefix the stylesheet does not bind) is reported as an
     * error on the context rather than always by the return value. */
    if (options->params != NULL &&
        (xsltQuoteUserParams(ctxt, options->params) != 0 || ctxt->state != XSLT_STATE_OK))
        goto done;

    result = xsltApplyStylesheetUser(style, doc, NULL, NULL, NULL, ctxt);
    status = 0;
    output->failed = result == NULL || ctxt->state != XSLT_STATE_OK;
    output->denied = cx_denied;
    if (result != NULL) {
        output->shape = cx_result_shape(result);
        if (xsltSaveResultToString(&output->bytes, &output->len, result, style) != 0) {
            cx_appendf("the result could not be serialised\n");
            output->failed = 1;
        }
    }

done:
    if (result != NULL) xmlFreeDoc(result);
    if (ctxt != NULL) xsltFreeTransformContext(ctxt);
    if (sec != NULL) xsltFreeSecurityPrefs(sec);
    if (doc != NULL) xmlFreeDoc(doc);
    cx_end();
    return status;
}

/* ---------------------------------------------------------------- XML Schema */

/* A compiled schema and the document it was compiled from: schema components keep pointers into
 * that document (annotations, source nodes for messages), so it lives as long as the schema. */
typedef struct {
    xmlSchemaPtr schema;
    xmlDocPtr doc;
} cx_schema;

cx_schema *cx_schema_compile(const char *xsd, int len, const char *base_url, cx_messages *messages) {
    cx_begin(messages, 0);
    cx_schema *compiled = NULL;
    xmlDocPtr doc = cx_read(xsd, len, base_url, XML_PARSE_NONET);
    xmlSchemaPtr schema = NULL;
    if (doc != NULL) {
        xmlSchemaParserCtxtPtr parser = xmlSchemaNewDocParserCtxt(doc);
        if (parser != NULL) {
            xmlSchemaSetParserStructuredErrors(parser, cx_structured_error, NULL);
            schema = xmlSchemaParse(parser);
            xmlSchemaFreeParserCtxt(parser);
        }
    }
    if (schema != NULL) compiled = malloc(sizeof *compiled);
    if (compiled != NULL) {
        compiled->schema = schema;
        compiled->doc = doc;
    } else {
        if (schema != NULL) xmlSchemaFree(schema);
        if (doc != NULL) xmlFreeDoc(doc);
    }
    cx_end();
    return compiled;
}

void cx_schema_free(cx_schema *compiled) {
    if (compiled == NULL) return;
    xmlSchemaFree(compiled->schema);
    xmlFreeDoc(compiled->doc);
    free(compiled);
}

/* 0: valid; 1: invalid (messages say why); -1: the input could not be parsed or checked. */
int cx_schema_validate(cx_schema *compiled, const char *input, int len, int parse_options,
                       cx_messages *messages) {
    cx_begin(messages, 0);
    int status = -1;
    xmlDocPtr doc = cx_read(input, len, NULL, parse_options);
    if (doc != NULL) {
        xmlSchemaValidCtxtPtr validator = xmlSchemaNewValidCtxt(compiled->schema);
        if (validator != NULL) {
            xmlSchemaSetValidStructuredErrors(validator, cx_structured_error, NULL);
            int ret = xmlSchemaValidateDoc(validator, doc);
            status = ret == 0 ? 0 : ret > 0 ? 1 : -1;
            xmlSchemaFreeValidCtxt(validator);
        }
        xmlFreeDoc(doc);
    }
    cx_end();
    return status;
}

/* ---------------------------------------------------------------- XPath */

xmlXPathCompExprPtr cx_xpath_compile(const char *expression, cx_messages *messages) {
    cx_begin(messages, 0);
    xmlXPathCompExprPtr compiled = xmlXPathCompile((const xmlChar *)expression);
    cx_end();
    return compiled;
}

void cx_xpath_free(xmlXPathCompExprPtr compiled) {
    if (compiled != NULL) xmlXPathFreeCompExpr(compiled);
}

/* The string value of the expression on the document (cx_free it), or NULL on error.
 * namespaces: prefix, uri, prefix, uri, ..., NULL. */
xmlChar *cx_xpath_string(xmlXPathCompExprPtr compiled, const char *input, int len, int parse_options,
                         const char **namespaces, cx_messages *messages) {
    cx_begin(messages, 0);
    xmlChar *value = NULL;
    xmlDocPtr doc = cx_read(input, len, NULL, parse_options);
    if (doc != NULL) {
        xmlXPathContextPtr context = xmlXPathNewContext(doc);
        if (context != NULL) {
            int ok = 1;
            for (const char **ns = namespaces; ns != NULL && ns[0] != NULL && ns[1] != NULL; ns += 2) {
                if (xmlXPathRegisterNs(context, (const xmlChar *)ns[0], (const xmlChar *)ns[1]) != 0) ok = 0;
            }
            if (ok) {
                xmlXPathObjectPtr result = xmlXPathCompiledEval(compiled, context);
                if (result != NULL) {
                    value = xmlXPathCastToString(result);
                    xmlXPathFreeObject(result);
                }
            }
            xmlXPathFreeContext(context);
        }
        xmlFreeDoc(doc);
    }
    cx_end();
    return value;
}

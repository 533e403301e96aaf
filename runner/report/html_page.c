/*
 * html_page.c - the frame every report.html shares: head, style and
 * script (compiled in from runner/report/assets/, report_assets.c), the
 * verdict banner, key/value rows and the invariants table.
 *
 * The page fetches nothing: its Content-Security-Policy forbids every
 * source but the page's own inline style and script, so a page that would
 * need the network shows it as an error in a browser (the browser test
 * reads <html data-errors>) instead of silently drawing less offline.
 */
#include "report_html.h"
#include "xmlw.h"

#include <stdlib.h>
#include <string.h>

/* runner/report/assets/report.{css,js}, made into C arrays at build time */
extern const char html_asset_css[];
extern const char html_asset_js[];

void html_esc(FILE *f, const char *s)
{
    xw_string(f, s);
}

/* The first script: errors and blocked fetches become attributes of
 * <html>, where a test (or a curious reader) sees them. */
static const char html_guard[] =
    "(function(){var d=document.documentElement;function add(k,v){d.setAttribute(k,"
    "(d.getAttribute(k)?d.getAttribute(k)+' | ':'')+v);}"
    "window.addEventListener('error',function(e){add('data-errors',e.message||'error');});"
    "document.addEventListener('securitypolicyviolation',function(e){add('data-errors',"
    "'blocked '+e.blockedURI);});})();";

void html_begin(FILE *f, const char *title, const char *kind)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\" data-kind=\"", f);
    html_esc(f, kind);
    fputs("\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    html_esc(f, title);
    fprintf(f, "</title>\n<script>%s</script>\n<style>\n%s</style>\n</head>\n<body>\n", html_guard,
            html_asset_css);
}

void html_end(FILE *f)
{
    fprintf(f,
            "<footer>Written by wedge. One file: it fetches nothing.</footer>\n"
            "<script>\n%s</script>\n</body>\n</html>\n",
            html_asset_js);
}

void html_verdict(FILE *f, const char *cls, const char *text)
{
    fprintf(f, "<p class=\"verdict %s\" id=\"verdict\">", cls);
    html_esc(f, text);
    fputs("</p>\n", f);
}

const char *html_code_word(int code)
{
    return code == 0 ? "PASSED" : code == 1 ? "FAILED" : code == 2 ? "ERROR" : "INCONCLUSIVE";
}

const char *html_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

double html_num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

json_t *html_load(const char *dir, const char *name)
{
    char path[4096];
    json_t *j;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    j = json_load_file(path, 0, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

void html_kv(FILE *f, const char *key, const char *value, int code)
{
    if (!value || !*value)
        return;
    fputs("<tr><th>", f);
    html_esc(f, key);
    fputs(code ? "</th><td><code>" : "</th><td>", f);
    html_esc(f, value);
    fputs(code ? "</code></td></tr>\n" : "</td></tr>\n", f);
}

/* ---------------------------------------------------------------
 * Invariants, as report.md has them.
 * ------------------------------------------------------------ */
static void html_inv_row(FILE *f, json_t *v)
{
    const char *st = html_str(v, "status");
    const char *shown = !strcmp(st, "passed")   ? "passed"
                        : !strcmp(st, "failed") ? "FAILED"
                                                : "ERROR";
    fprintf(f, "<tr class=\"inv %s\"><td>", st);
    html_esc(f, html_str(v, "name"));
    fprintf(f, "</td><td class=\"st\">%s</td><td>", shown);
    html_esc(f, html_str(v, "expected"));
    fputs("</td><td>", f);
    html_esc(f, html_str(v, "actual"));
    fputs("</td></tr>\n", f);
}

void html_invariants(FILE *f, json_t *sum)
{
    json_t *a = json_object_get(sum, "invariants"), *v;
    size_t i;

    fputs("<section id=\"invariants\"><h2>Invariants</h2>\n<table class=\"grid\">"
          "<tr><th>invariant</th><th>status</th><th>expected</th><th>actual</th></tr>\n",
          f);
    json_array_foreach(a, i, v)
    {
        html_inv_row(f, v);
    }
    if (!json_array_size(a))
        fputs("<tr><td colspan=\"4\">(none evaluated)</td></tr>\n", f);
    fputs("</table>\n", f);
    json_array_foreach(a, i, v)
    {
        const char *d = html_str(v, "detail");
        if (!strcmp(html_str(v, "status"), "passed") || !*d)
            continue;
        fputs("<h3>", f);
        html_esc(f, html_str(v, "name"));
        fputs("</h3>\n<pre>", f);
        html_esc(f, d);
        fputs("</pre>\n", f);
    }
    fputs("</section>\n", f);
}

/* A callscope plugin written in C against the ABI header: the caller
 * track's peak sample and the bot track's length. Built by the test suite:
 *
 *     cc -shared -fPIC -I ../include peak.c -o libcpeak.so
 *
 * The CS_TEST_* macros build deliberately broken variants for the tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callscope_plugin.h"

static cs_buffer make(const char *text) {
    cs_buffer b;
    b.len = strlen(text);
    b.ptr = malloc(b.len ? b.len : 1);
    memcpy(b.ptr, text, b.len);
    return b;
}

static int instance_token;

#ifdef CS_TEST_DEINIT_LOG
/* One line per init and per deinit, so a test can count them. */
static void log_line(const char *line) {
    FILE *log = fopen(CS_TEST_DEINIT_LOG, "a");
    if (log) {
        fputs(line, log);
        fclose(log);
    }
}
#endif

static void *init(cs_bytes config, cs_buffer *error) {
    (void)config;
    (void)error;
#ifdef CS_TEST_DEINIT_LOG
    log_line("init\n");
#endif
    return &instance_token;
}

static int32_t columns(void *instance, cs_buffer *out) {
    (void)instance;
#ifdef CS_TEST_COLUMNS
    *out = make(CS_TEST_COLUMNS);
#else
    *out = make("[\"caller_peak\", \"bot_samples\"]");
#endif
    return 0;
}

#ifdef CS_TEST_TRACK_SHAPE
/* "rate:len" of a track as the plugin received it, "null:rate:len" when
 * its samples pointer is NULL. */
static void shape(const cs_track *t, char *s, size_t n) {
    if (t->samples == NULL)
        snprintf(s, n, "null:%u:%zu", t->sample_rate, t->len);
    else
        snprintf(s, n, "%u:%zu", t->sample_rate, t->len);
}
#endif

static int32_t analyze(void *instance, const cs_call *call, cs_buffer *out) {
    (void)instance;
#ifdef CS_TEST_TRACK_SHAPE
    {
        char c[64], b[64], text[192];
        shape(&call->caller, c, sizeof c);
        shape(&call->bot, b, sizeof b);
        snprintf(text, sizeof text, "{\"caller_peak\": \"%s\", \"bot_samples\": \"%s\"}", c, b);
        *out = make(text);
        return 0;
    }
#endif
#ifdef CS_TEST_BOOL
    /* A true cell and an empty one, for the summary's counts. */
    (void)call;
    *out = make("{\"caller_peak\": true, \"bot_samples\": null}");
    return 0;
#endif
#ifdef CS_TEST_CRASH
    if (call->caller.len > 0) {
        volatile int *nowhere = NULL;
        *nowhere = 1; /* a segmentation fault */
    }
#endif
#ifdef CS_TEST_HANG
    for (;;) {
    }
#endif
#ifdef CS_TEST_EXIT
    exit(3);
#endif
#ifdef CS_TEST_PRINT
    printf("a plugin that prints to stdout\n");
    fflush(stdout);
#endif
#ifdef CS_TEST_ECHO
    /* The call as this plugin received it, as the caller_peak cell. */
    {
        size_t n = call->call_json.len;
        char *text = malloc(n + 32);
        memcpy(text, "{\"caller_peak\": ", 16);
        memcpy(text + 16, call->call_json.ptr, n);
        strcpy(text + 16 + n, "}");
        *out = make(text);
        free(text);
        return 0;
    }
#endif
#ifdef CS_TEST_NULL_OUT
    /* A length with no bytes behind it: the host must not read it. */
    (void)call;
    out->ptr = NULL;
    out->len = 16;
    return 0;
#endif
#ifdef CS_TEST_BAD_JSON
    (void)call;
    *out = make("{\"caller_peak\": 12, oops");
    return 0;
#else
    int peak = 0;
    for (size_t i = 0; i < call->caller.len; i++) {
        int v = call->caller.samples[i];
        if (v < 0) v = -v;
        if (v > peak) peak = v;
    }
    char text[128];
    snprintf(text, sizeof text, "{\"caller_peak\": %d, \"bot_samples\": %zu}", peak, call->bot.len);
    *out = make(text);
    return 0;
#endif
}

static int32_t summarize(void *instance, cs_bytes merged, cs_buffer *out) {
    (void)instance;
    char *copy = malloc(merged.len + 1);
    memcpy(copy, merged.ptr, merged.len);
    copy[merged.len] = 0;
    *out = make(copy);
    free(copy);
    return 0;
}

static void free_buffer(cs_buffer b) { free(b.ptr); }

static void deinit(void *instance) {
    (void)instance;
#ifdef CS_TEST_DEINIT_LOG
    log_line("deinit\n");
#endif
#ifdef CS_TEST_DEINIT_HANG
    for (;;) {
    }
#endif
}

static const cs_plugin_v1 descriptor = {
#ifdef CS_TEST_ABI
    CS_TEST_ABI,
#else
    CALLSCOPE_ABI_VERSION,
#endif
#ifdef CS_TEST_NAME
    CS_TEST_NAME,
#else
    "cpeak",
#endif
    "1.0.0",
#ifdef CS_TEST_NEEDS
    CS_TEST_NEEDS,
#else
    CS_NEEDS_AUDIO,
#endif
    init, columns, analyze, summarize, free_buffer, deinit,
};

#ifdef CS_TEST_NO_ENTRY
const cs_plugin_v1 *some_other_symbol(void) { return &descriptor; }
#else
const cs_plugin_v1 *callscope_plugin_entry(void) { return &descriptor; }
#endif

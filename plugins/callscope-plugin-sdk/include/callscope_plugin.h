/* callscope analyzer plugins: the C ABI, version 1.
 *
 * A plugin is a shared library exporting one symbol:
 *
 *     const cs_plugin_v1 *callscope_plugin_entry(void);
 *
 * The descriptor's first field is the ABI version; it never moves. The host
 * reads it before anything else and refuses a library of another version.
 * New capabilities come as new versioned descriptors, never by changing this
 * one.
 *
 * Data crosses as plain C types: the structured parts of a call as UTF-8
 * JSON (pointer + length), audio as 16-bit samples (pointer + length + rate),
 * results as a UTF-8 JSON object of column -> number/string/null, in a
 * buffer the plugin allocates and the host hands back to free_buffer.
 * analyze may be called from several threads at once.
 */
#ifndef CALLSCOPE_PLUGIN_H
#define CALLSCOPE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define CALLSCOPE_ABI_VERSION 1u

/* What the plugin reads (bits of cs_plugin_v1.needs). */
#define CS_NEEDS_METADATA   1u
#define CS_NEEDS_TRANSCRIPT 2u
#define CS_NEEDS_EVENTS     4u
#define CS_NEEDS_AUDIO      8u
#define CS_NEEDS_TIMELINE  16u

typedef struct cs_bytes {
    const uint8_t *ptr;
    size_t len;
} cs_bytes;

/* A buffer the plugin allocated; the host returns it to free_buffer. */
typedef struct cs_buffer {
    uint8_t *ptr;
    size_t len;
} cs_buffer;

/* A mono track; samples NULL, len 0 and sample_rate 0 when absent or not
 * asked for. */
typedef struct cs_track {
    const int16_t *samples;
    size_t len;
    uint32_t sample_rate;
} cs_track;

/* One call. call_json: {"recording", "session_id", "start_time", "state",
 * "metadata", "transcript", "events"} (null when absent or not asked for). */
typedef struct cs_call {
    cs_bytes call_json;
    cs_track caller;
    cs_track bot;
} cs_call;

typedef struct cs_plugin_v1 {
    uint32_t abi_version;          /* CALLSCOPE_ABI_VERSION; always first */
    const char *name;              /* prefixes the columns: "name_column" */
    const char *version;
    uint32_t needs;                /* CS_NEEDS_* bits */
    /* Create an instance from a JSON config ("{}" when none). NULL on
     * failure, with a message in *error. */
    void *(*init)(cs_bytes config_json, cs_buffer *error);
    /* The instance's columns (they may depend on its config): 0 and a JSON
     * array of names (without the plugin's name) in *out. */
    int32_t (*columns)(void *instance, cs_buffer *out);
    /* 0 and a JSON object in *out; non-zero and a message in *out. */
    int32_t (*analyze)(void *instance, const cs_call *call, cs_buffer *out);
    /* The run's summary from the merged per-column counts (JSON:
     * {"calls": n, "columns": {"col": {"count": n, "sum": x, "true": n}}}). */
    int32_t (*summarize)(void *instance, cs_bytes merged_json, cs_buffer *out);
    void (*free_buffer)(cs_buffer buffer);
    void (*deinit)(void *instance);
} cs_plugin_v1;

const cs_plugin_v1 *callscope_plugin_entry(void);

#endif

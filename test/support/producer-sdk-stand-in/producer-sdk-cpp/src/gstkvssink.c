/*
 * Stand-in of the Producer SDK's GStreamer plugin for the tests: an element named kvssink that accepts
 * any buffer and drops it. It is what userdata/build-kvssink.sh builds when the tests serve the
 * stand-in repositories in place of GitHub; its cameras still write to the run script's file sink.
 */
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

#include "cproducer.h"

#define GST_TYPE_KVS_SINK_STAND_IN (gst_kvs_sink_stand_in_get_type())
G_DECLARE_FINAL_TYPE(GstKvsSinkStandIn, gst_kvs_sink_stand_in, GST, KVS_SINK_STAND_IN, GstBaseSink)

struct _GstKvsSinkStandIn {
    GstBaseSink parent;
};

G_DEFINE_TYPE(GstKvsSinkStandIn, gst_kvs_sink_stand_in, GST_TYPE_BASE_SINK)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstFlowReturn gst_kvs_sink_stand_in_render(GstBaseSink *sink, GstBuffer *buffer)
{
    (void) sink;
    (void) buffer;
    return GST_FLOW_OK;
}

static void gst_kvs_sink_stand_in_class_init(GstKvsSinkStandInClass *klass)
{
    GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
    gst_element_class_set_static_metadata(element_class, "KVS sink stand-in", "Sink", cproducer_stand_in_name(),
                                          "kvs-cloud-gateway tests");
    gst_element_class_add_static_pad_template(element_class, &sink_template);
    GST_BASE_SINK_CLASS(klass)->render = gst_kvs_sink_stand_in_render;
}

static void gst_kvs_sink_stand_in_init(GstKvsSinkStandIn *sink)
{
    (void) sink;
}

static gboolean plugin_init(GstPlugin *plugin)
{
    return gst_element_register(plugin, "kvssink", GST_RANK_NONE, GST_TYPE_KVS_SINK_STAND_IN);
}

#define PACKAGE "kvssink-stand-in"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, kvssink, "Stand-in of the Producer SDK's kvssink", plugin_init, "1.0",
                  "Proprietary", PACKAGE, "https://github.com/awslabs/amazon-kinesis-video-streams-producer-sdk-cpp")

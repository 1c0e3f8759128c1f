/* jsb_stub.c — the JetStream backend's stand-in until it is implemented
 * over cnats: the constructor reports that it is not built in.
 *
 * Not a mock: nothing here pretends to be a server.
 */
#include "ps_jetstream.h"

ps_status ps_jetstream_new(ps_backend **out, const ps_jetstream_options *opts)
{
    (void)opts;
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_jetstream_new: out is NULL");
    return ps_error(PS_ERR_NOT_BUILT, 0,
                    "the JetStream backend is not built into this library yet "
                    "(it lands with the cnats backend issue); use ps_memory_new");
}

bool ps_jetstream_available(void)
{
    return false;
}

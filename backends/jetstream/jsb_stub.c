/* jsb_stub.c — the JetStream backend in a library built without cnats
 * (libnats-dev was not installed): the constructor says the backend is not
 * built, so code written against ps_jetstream.h links and fails with a
 * clear status instead of an undefined symbol.
 *
 * This file is compiled whether or not the Makefile found libnats (with or
 * without PS_HAVE_NATS): it includes nothing from cnats and defines only the
 * two functions of ps_jetstream.h. It is not a mock: nothing here pretends
 * to talk to a server.
 */
#include <stddef.h>

#include "ps_jetstream.h"
#include "ps_status.h"
#include "ps_backend_impl.h"

ps_status ps_jetstream_new(ps_backend **out, const ps_jetstream_options *opts)
{
    (void)opts;
    if (out == NULL)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_jetstream_new: out is NULL");
    return ps_error(PS_ERR_NOT_BUILT, 0,
                    "the JetStream backend is not built into this library: it was built "
                    "without cnats (install libnats-dev and rebuild)");
}

bool ps_jetstream_available(void)
{
    return false;
}

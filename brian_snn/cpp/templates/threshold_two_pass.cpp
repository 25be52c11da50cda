{# brian_snn (issue 28): Brian2's threshold template in two passes, for a condition that calls no
   random-number or other stateful function.  The first pass evaluates the condition of every
   neuron into a buffer (no stores but the buffer's, so GCC vectorises it); the second walks the
   buffer eight neurons at a time and, for the few that crossed, does what Brian2's loop does, in
   the same order: the same events, the same refractoriness and last-spike times. #}
{# USES_VARIABLES { N } #}
{% extends 'threshold.cpp' %}
{% import 'brian_snn_buffered.cpp' as buffered %}

{% block extra_headers %}
{{ buffered.headers() }}
{% endblock %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}
    // brian_snn: the conditions first (a vectorisable loop), then the events
    {{ buffered.condition_buffer()|autoindent }}
    for(size_t _idx=0; _idx<(size_t)N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        _brian_snn_c[_idx] = _cond;
    }
    long _count = 0;
    {% call buffered.for_each_set() %}
    {{_eventspace}}[_count++] = _idx;
    {% if _uses_refractory %}
    {{not_refractory}}[_idx] = false;
    {{lastspike}}[_idx] = {{t}};
    {% endif %}
    {% endcall %}
    {{_eventspace}}[N] = _count;
{% endblock %}

{# brian_snn (issue 28): Brian2's threshold template with a test, once per step, of the condition's
   leading conjuncts that read only shared variables and linked variables (brian_snn_guard: their C++
   expression, the variables they read).  Those conjuncts have one value per distinct element of the
   linked variables (one for a model's 400 neurons linked to one controller, one per copy); if it is
   false for each, no neuron meets the condition, and the per-neuron loop (which would evaluate only
   those conjuncts: && stops there, so no random number is drawn either) is skipped.  Otherwise
   Brian2's loop runs as generated.  The neurons that stand for the distinct elements are found on
   the first call: linked-variable indices are read-only in Brian2 (set when the link is made).
   When the next conjuncts compare the neuron's own variables with constants (the input's
   rate > 0*Hz, brian_snn_guard.prefilter), they are evaluated for all neurons first, and the
   whole condition (with its random draw) only where they hold, in index order: the neurons, and
   the draws, of Brian2's loop, whose && stops at the same conjunct. #}
{# USES_VARIABLES { N } #}
{% extends 'threshold.cpp' %}
{% import 'brian_snn_buffered.cpp' as buffered %}

{% block maincode %}
    // brian_snn (issue 28): {{brian_snn_guard.text}}, tested once per distinct linked element
    static std::vector<size_t> _brian_snn_reps;      // a neuron for each distinct linked element
    static bool _brian_snn_known = false, _brian_snn_few = true;
    if(!_brian_snn_known)
    {
        for(size_t _i=0; _i<(size_t)N && _brian_snn_few; _i++)
        {
            bool _seen = false;
            for(size_t _k=0; _k<_brian_snn_reps.size() && !_seen; _k++)
            {
                const size_t _r = _brian_snn_reps[_k];
                _seen = true{% for name in brian_snn_guard.linked %}{% set _index = get_array_name(variables[variable_indices[name]]) %} && {{_index}}[_r] == {{_index}}[_i]{% endfor %};
            }
            if(!_seen)
                _brian_snn_reps.push_back(_i);
            _brian_snn_few = _brian_snn_reps.size() <= 16;
        }
        _brian_snn_known = true;
    }
    bool _brian_snn_none = _brian_snn_few;
    for(size_t _k=0; _k<_brian_snn_reps.size() && _brian_snn_none; _k++)
    {
        const size_t _r = _brian_snn_reps[_k];
        {% for name in brian_snn_guard.names %}
        {% set _var = variables[name] %}
        {% if name in brian_snn_guard.linked %}
        const {{c_data_type(_var.dtype)}} {{name}} = {{get_array_name(_var)}}[{{get_array_name(variables[variable_indices[name]])}}[_r]];
        {% else %}
        const {{c_data_type(_var.dtype)}} {{name}} = {{get_array_name(_var)}}[0];
        {% endif %}
        {% endfor %}
        _brian_snn_none = !({{brian_snn_guard.cpp}});
    }
    if(_brian_snn_none)
    {
        {{get_array_name(eventspace_variable)}}[N] = 0;
    }
    else
    {
    {% if brian_snn_guard.prefilter %}
    // brian_snn: {{brian_snn_guard.prefilter_text}} for every neuron first (a vectorisable loop);
    // the whole condition, with its random draws, then only where it holds, in index order
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}
    {{ buffered.condition_buffer()|autoindent }}
    for(size_t _i=0; _i<(size_t)N; _i++)
    {
        {% for name in brian_snn_guard.prefilter_names %}
        const {{c_data_type(variables[name].dtype)}} {{name}} = {{get_array_name(variables[name])}}[_i];
        {% endfor %}
        _brian_snn_c[_i] = {{brian_snn_guard.prefilter}};
    }
    long _count = 0;
    {% call buffered.for_each_set() %}
    const size_t _vectorisation_idx = _idx;
    {{vector_code|autoindent}}
    if(_cond)
        {{get_array_name(eventspace_variable)}}[_count++] = _idx;     // (no refractoriness: guarded)
    {% endcall %}
    {{get_array_name(eventspace_variable)}}[N] = _count;
    {% else %}
    {{ super() }}
    {% endif %}
    }
{% endblock %}

{% block extra_headers %}
{{ buffered.headers() }}
{% endblock %}

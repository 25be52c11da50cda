{# brian_snn (issue 28): Brian2's threshold template with a test, once per step, of the condition's
   leading conjuncts that read only shared variables and linked variables (brian_snn_guard: their C++
   expression, the variables they read).  Those conjuncts have one value per distinct element of the
   linked variables (one for a model's 400 neurons linked to one controller, one per copy); if it is
   false for each, no neuron meets the condition, and the per-neuron loop (which would evaluate only
   those conjuncts: && stops there, so no random number is drawn either) is skipped.  Otherwise
   Brian2's loop runs as generated.  The neurons that stand for the distinct elements are found on
   the first call: linked-variable indices are read-only in Brian2 (set when the link is made). #}
{# USES_VARIABLES { N } #}
{% extends 'threshold.cpp' %}

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
    {{ super() }}
    }
{% endblock %}

{# brian_snn (issue 28): Brian2's synapses template plus a path for frozen passes.  The model that
   built the pathway declares (brian_snn.standalone_templates.declare_frozen_transmission) that,
   while its shared learning flag is 0, every statement but the transmission 'target_post += w'
   (or every statement, for a pathway without one) leaves its variables as they are (Diehl &
   Cook's plasticity: scaled by the flag, bounds opened); then only the transmission runs -- the
   same additions, in the same queue order, as Brian2's loop -- or nothing.  Learning
   (flag != 0), Brian2's loop runs unchanged. #}
{# USES_VARIABLES { _synaptic_pre } #}
{% extends 'synapses.cpp' %}

{% block maincode %}
    if({{brian_snn_transmit.flag}} == 0.0)
    {
        {% if brian_snn_transmit.target %}
        // frozen: the transmission alone (brian_snn, issue 28)
        std::vector<int> *_spiking_synapses = {{pathway.name}}.peek();
        const int _num_spiking_synapses = _spiking_synapses->size();
        for(int _spiking_synapse_idx=0; _spiking_synapse_idx<_num_spiking_synapses; _spiking_synapse_idx++)
        {
            const size_t _idx = (*_spiking_synapses)[_spiking_synapse_idx];
            {{brian_snn_transmit.target}}[{{brian_snn_transmit.post}}[_idx]] += {{brian_snn_transmit.weight}}[_idx];
        }
        {% else %}
        // frozen: nothing to do (brian_snn, issue 28)
        {% endif %}
    }
    else
    {
    {{ super() }}
    }
{% endblock %}

az ml compute create --name mycluster --type amlcompute --identity-type system_assigned

{"NotificationContainer":{"type":"backgroundProcessingQueue","size":1,"BackgroundProcessingQueueEventNotification":[{"event":"queueRegenerated","queueID":1}]}}
